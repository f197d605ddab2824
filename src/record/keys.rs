//! Ed25519 key files for signing evidence manifests (RFC 8032 keys, via ed25519-dalek).
//!
//! A key file is UTF-8 text: comment lines starting with `#`, then one line of 64 hex
//! digits — the 32-byte secret seed (secret key file) or the 32-byte public key (public
//! key file). The host generates keys (e.g. `evidence keygen`) and keeps the secret one
//! away from the recordings; the core only parses and formats them.

pub use ed25519_dalek::{SigningKey, VerifyingKey};

/// First line of a secret key file.
pub const SECRET_KEY_HEADER: &str = "# jyqq-media Ed25519 secret key (RFC 8032 32-byte seed, hex). Keep it private.";
/// First line of a public key file.
pub const PUBLIC_KEY_HEADER: &str = "# jyqq-media Ed25519 public key (RFC 8032, hex).";

/// Why a key file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No line of exactly 64 hex digits was found.
    #[error("no 64-digit hex key line found")]
    NoKeyLine,
    /// The 32 bytes are not a valid Ed25519 public key (not a curve point).
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
}

fn key_bytes(text: &str) -> Result<[u8; 32], KeyError> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).ok_or(KeyError::NoKeyLine)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(line, &mut out).map_err(|_| KeyError::NoKeyLine)?;
    Ok(out)
}

/// Parses a secret key file. Errors: [`KeyError::NoKeyLine`].
pub fn parse_secret_key(text: &str) -> Result<SigningKey, KeyError> {
    Ok(SigningKey::from_bytes(&key_bytes(text)?))
}

/// Parses a public key file (or a bare 64-digit hex string).
/// Errors: [`KeyError::NoKeyLine`], [`KeyError::InvalidPublicKey`].
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_bytes(&key_bytes(text)?).map_err(|_| KeyError::InvalidPublicKey)
}

/// The text of a secret key file for `key`.
pub fn secret_key_text(key: &SigningKey) -> String {
    format!("{SECRET_KEY_HEADER}\n{}\n", hex::encode(key.to_bytes()))
}

/// The text of a public key file for `key`.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_KEY_HEADER}\n{}\n", hex::encode(key.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip() {
        // RFC 8032 §7.1 test 1: secret seed and its public key.
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let sk = parse_secret_key(&format!("# c\n\n{seed}\n")).unwrap();
        assert_eq!(
            hex::encode(sk.verifying_key().to_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let pk = parse_public_key(&public_key_text(&sk.verifying_key())).unwrap();
        assert_eq!(pk, sk.verifying_key());
        assert_eq!(parse_secret_key(&secret_key_text(&sk)).unwrap().to_bytes(), sk.to_bytes());
        assert_eq!(parse_secret_key("# only a comment").unwrap_err(), KeyError::NoKeyLine);
        assert_eq!(parse_public_key("abcd").unwrap_err(), KeyError::NoKeyLine);
    }
}
