//! Sealed values: a 检举控告's appeal and notices, readable only by the accounts allowed to
//! read them (issue 15, item 2), whoever holds the database key.
//!
//! A sealed value is a text `xfc1:{json}` that travels in place of the plain value — in the
//! record, the change log, sync and the city's copy — so no replica holds it readable by anyone
//! else. The content is encrypted once with a random content key (XChaCha20-Poly1305, the
//! record and field as associated data, so a sealed value cannot be moved to another record);
//! the content key is sealed (X25519 sealed box) to each reader's public key. A reader is named
//! with the fingerprint of its key, so a reader whose key changed (a password reset) counts as
//! a different reader and the value is sealed again (`confidential::reseal`).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use zeroize::Zeroizing;

pub use crypto_box::{PublicKey, SecretKey};

/// Why a value could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("没有可以查阅此保密内容的账号：无法加密保存。")]
    NoReaders,
    #[error("加密保密内容失败")]
    Cipher,
}

pub type Result<T, E = SealError> = std::result::Result<T, E>;

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The start of every sealed value.
pub const SEALED_PREFIX: &str = "xfc1:";

/// One who may open a sealed value: a name and a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// `staff:<id>:<fingerprint>` or `city:<fingerprint>`.
    pub name: String,
    pub public: crypto_box::PublicKey,
}

impl Recipient {
    pub fn staff(staff_id: &str, public: crypto_box::PublicKey) -> Recipient {
        Recipient {
            name: format!("staff:{staff_id}:{}", fingerprint(&public)),
            public,
        }
    }

    pub fn city(public: crypto_box::PublicKey) -> Recipient {
        Recipient {
            name: format!("city:{}", fingerprint(&public)),
            public,
        }
    }
}

/// A secret key that opens what was sealed to its recipient name. `Debug` prints no key.
#[derive(Clone)]
pub struct Opener {
    pub name: String,
    pub secret: crypto_box::SecretKey,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Opener {
    pub fn staff(staff_id: &str, secret: crypto_box::SecretKey) -> Opener {
        let name = Recipient::staff(staff_id, secret.public_key()).name;
        Opener { name, secret }
    }

    pub fn city(secret: crypto_box::SecretKey) -> Opener {
        let name = Recipient::city(secret.public_key()).name;
        Opener { name, secret }
    }
}

/// The first 16 hex digits of SHA-256 of a public key: enough to tell keys apart.
pub fn fingerprint(public: &crypto_box::PublicKey) -> String {
    hex(&sha2::Sha256::digest(public.as_bytes())[..8])
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    /// Nonce of the content.
    n: String,
    /// The content, encrypted.
    c: String,
    /// (recipient name, content key sealed to it), sorted by name.
    to: Vec<(String, String)>,
}

pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// Seals `plain` for `recipients`; `context` (e.g. `visit:<id>:appeal`) binds it to its place.
pub fn seal(plain: &[u8], context: &str, recipients: &[Recipient]) -> Result<String> {
    if recipients.is_empty() {
        return Err(SealError::NoReaders);
    }
    let mut content_key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(&mut content_key[..]);
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new((&*content_key).into());
    let c = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| SealError::Cipher)?;
    let mut to = Vec::with_capacity(recipients.len());
    for r in recipients {
        let sealed = r
            .public
            .seal(&mut OsRng, &content_key[..])
            .map_err(|_| SealError::Cipher)?;
        to.push((r.name.clone(), hex(&sealed)));
    }
    to.sort();
    to.dedup_by(|a, b| a.0 == b.0);
    let env = Envelope {
        n: hex(&nonce),
        c: hex(&c),
        to,
    };
    Ok(format!(
        "{SEALED_PREFIX}{}",
        serde_json::to_string(&env).expect("an envelope serialises")
    ))
}

fn envelope(value: &str) -> Option<Envelope> {
    serde_json::from_str(value.strip_prefix(SEALED_PREFIX)?).ok()
}

/// The names a sealed value is sealed to, sorted; `None` for a value that is not sealed.
pub fn recipients(value: &str) -> Option<Vec<String>> {
    Some(envelope(value)?.to.into_iter().map(|(n, _)| n).collect())
}

/// Opens a sealed value with `opener`; `None` when it is not sealed to it (or was altered).
pub fn open(value: &str, context: &str, opener: &Opener) -> Option<Zeroizing<Vec<u8>>> {
    let env = envelope(value)?;
    let (_, sealed) = env.to.iter().find(|(n, _)| *n == opener.name)?;
    let key = Zeroizing::new(opener.secret.unseal(&unhex(sealed)?).ok()?);
    let key: &[u8; 32] = key.as_slice().try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = unhex(&env.n)?;
    if nonce.len() != 24 {
        return None;
    }
    cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &unhex(&env.c)?,
                aad: context.as_bytes(),
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// [`open`] for text.
pub fn open_text(value: &str, context: &str, opener: &Opener) -> Option<String> {
    open(value, context, opener).and_then(|b| String::from_utf8(b.to_vec()).ok())
}

/// A new random key pair.
pub fn new_secret() -> crypto_box::SecretKey {
    crypto_box::SecretKey::generate(&mut OsRng)
}

/// A public key from its hex text.
pub fn public_from_hex(text: &str) -> Option<crypto_box::PublicKey> {
    let bytes: [u8; 32] = unhex(text)?.try_into().ok()?;
    Some(crypto_box::PublicKey::from_bytes(bytes))
}

pub fn public_hex(public: &crypto_box::PublicKey) -> String {
    hex(public.as_bytes())
}

/// A secret key as hex text, for a key file (wiped when dropped).
pub fn secret_hex(secret: &crypto_box::SecretKey) -> Zeroizing<String> {
    Zeroizing::new(hex(&secret.to_bytes()))
}

/// A secret key from its hex text.
pub fn secret_from_hex(text: &str) -> Option<crypto_box::SecretKey> {
    let bytes: [u8; 32] = unhex(text)?.try_into().ok()?;
    Some(crypto_box::SecretKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipients_open_it_and_only_in_its_place() {
        let (a, b, c) = (new_secret(), new_secret(), new_secret());
        let to = [
            Recipient::staff("a", a.public_key()),
            Recipient::city(b.public_key()),
        ];
        let sealed = seal("举报某局局长受贿".as_bytes(), "visit:1:appeal", &to).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("受贿"));
        let oa = Opener::staff("a", a);
        assert_eq!(
            open_text(&sealed, "visit:1:appeal", &oa).as_deref(),
            Some("举报某局局长受贿")
        );
        assert_eq!(
            open_text(&sealed, "visit:1:appeal", &Opener::city(b)).as_deref(),
            Some("举报某局局长受贿")
        );
        // Another key, another record, another account holding a's key: nothing.
        assert!(open(&sealed, "visit:1:appeal", &Opener::staff("c", c)).is_none());
        assert!(open(&sealed, "visit:2:appeal", &oa).is_none());
        let stolen = Opener {
            name: Recipient::staff("x", oa.secret.public_key()).name,
            secret: oa.secret.clone(),
        };
        assert!(open(&sealed, "visit:1:appeal", &stolen).is_none());
        assert_eq!(recipients(&sealed).unwrap().len(), 2);
        assert!(seal(b"x", "c", &[]).is_err());
    }
}

pub mod signing;
