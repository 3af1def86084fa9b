//! Signatures of staff and role changes (issue 15, item 2): Ed25519, with a key derived from
//! the account's reading key, so one secret (wrapped under the account's password) gives both
//! and a password reset replaces both. Whoever holds only the database key can neither open
//! what is sealed to an account nor sign as it.

pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::{hex, unhex};

/// The signing key of the account whose reading key is `secret`.
pub fn signing_key(secret: &crypto_box::SecretKey) -> SigningKey {
    let mut h = sha2::Sha256::new();
    h.update(b"xinfang-sign-v1\0");
    h.update(secret.to_bytes());
    let seed = Zeroizing::new(<[u8; 32]>::from(h.finalize()));
    SigningKey::from_bytes(&seed)
}

/// The public half of `key`, as hex (a staff record's `sign_public`).
pub fn verifying_hex(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

/// Signs `payload`; the signature as hex.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    hex(&key.sign(payload).to_bytes())
}

/// Whether `signature` (hex) is `public`'s (hex) signature of `payload`. Malformed keys or
/// signatures do not verify.
pub fn verify(public: &str, payload: &[u8], signature: &str) -> bool {
    let Some(public) = unhex(public).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
        return false;
    };
    let Some(sig) = unhex(signature).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    let Ok(public) = VerifyingKey::from_bytes(&public) else {
        return false;
    };
    public
        .verify_strict(payload, &Signature::from_bytes(&sig))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_key_and_payload() {
        let a = signing_key(&crate::new_secret());
        let b = signing_key(&crate::new_secret());
        let sig = sign(&a, b"roles=admin");
        assert!(verify(&verifying_hex(&a), b"roles=admin", &sig));
        assert!(!verify(&verifying_hex(&a), b"roles=supervisor", &sig));
        assert!(!verify(&verifying_hex(&b), b"roles=admin", &sig));
        assert!(!verify(&verifying_hex(&a), b"roles=admin", "00"));
        assert!(!verify("zz", b"roles=admin", &sig));
    }

    #[test]
    fn the_signing_key_follows_the_reading_key() {
        let secret = crate::new_secret();
        let again = crypto_box::SecretKey::from_bytes(secret.to_bytes());
        assert_eq!(
            verifying_hex(&signing_key(&secret)),
            verifying_hex(&signing_key(&again))
        );
        assert_ne!(
            verifying_hex(&signing_key(&secret)),
            verifying_hex(&signing_key(&crate::new_secret()))
        );
    }
}
