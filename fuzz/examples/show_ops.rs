//! Prints the operations an op-sequence fuzz input decodes to (for turning a crash into a
//! regression test): `cargo run --example show_ops -- <target> <file>`.

use jyqq_media_fuzz::decode_ops;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (target, file) = match args.as_slice() {
        [_, t, f] => (t.as_str(), f.as_str()),
        _ => {
            eprintln!("usage: show_ops jitter_ops|telephone_event|codec_decode|session_ops FILE");
            std::process::exit(2);
        }
    };
    let data = std::fs::read(file).expect("read input");
    let text = match target {
        "jitter_ops" => decode_ops::<jyqq_media_fuzz::jitter::JitterSetup, jyqq_media_fuzz::jitter::NetOp>(&data)
            .map(|(s, o)| format!("{s:#?}\n{o:#?}")),
        "telephone_event" => decode_ops::<jyqq_media_fuzz::dtmf::DtmfSetup, jyqq_media_fuzz::dtmf::DtmfOp>(&data)
            .map(|(s, o)| format!("{s:#?}\n{o:#?}")),
        "codec_decode" => decode_ops::<jyqq_media_fuzz::codec::CodecChoice, jyqq_media_fuzz::codec::CodecOp>(&data)
            .map(|(s, o)| format!("{s:#?}\n{o:#?}")),
        "session_ops" => {
            decode_ops::<jyqq_media_fuzz::session::SessionSetup, jyqq_media_fuzz::session::SessionOp>(&data)
                .map(|(s, o)| format!("{s:#?}\n{o:#?}"))
        }
        _ => panic!("unknown target {target}"),
    };
    println!("{}", text.unwrap_or_else(|| "does not decode".into()));
}
