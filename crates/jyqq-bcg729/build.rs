//! Links the system libbcg729 (Debian: `apt-get install libbcg729-dev`).
fn main() {
    println!("cargo:rustc-link-lib=bcg729");
}
