//! Encryption at rest (spec/archive-format.md §3.7).
//!
//! An encrypted archive has a random master key: 32 bytes for XChaCha20-Poly1305 and 32 bytes
//! that key the names objects are stored under. It is kept only wrapped, in key files
//! (`keys/<id>.json`), each by a key derived from a passphrase (Argon2id) or from a supplied key
//! file (HMAC-SHA256 of a random salt): any one key file opens the archive, and a key is added or
//! removed without touching the content.
//!
//! Blobs, manifests and `index.json` are stored sealed: `nonce (24 bytes) ‖ ciphertext ‖ tag
//! (16 bytes)`, the object's logical name (`blobs/sha256/ab/<digest>`) as associated data, so an
//! object moved to another name fails authentication. Blobs and manifests are stored under
//! keyed names, `HMAC-SHA256(names key, "blob:" ‖ digest)`: a name says nothing about the
//! content (without the key, a guessed plaintext cannot be confirmed), while equal content
//! still gets one name (deduplication). Inside, an encrypted archive is the plain one: the same
//! manifests, digests and snapshot ids, so snapshots copy between repositories of any keys.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::Mac;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::Key;

/// Bytes a sealed object has beyond its plaintext: the nonce and the tag.
pub const OVERHEAD: u64 = 24 + 16;
/// The cipher, as the layout names it.
pub const CIPHER: &str = "xchacha20-poly1305";
/// How stored names are keyed, as the layout names it.
pub const NAMES: &str = "hmac-sha256";
/// Argon2id's memory (KiB), passes and lanes for new passphrase keys (RFC 9106's second
/// recommended setting, with one lane).
const ARGON2: (u32, u32, u32) = (64 * 1024, 3, 1);

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The layout's `encryption` member: present exactly when the archive is encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Encryption {
    /// Always `xchacha20-poly1305`.
    pub cipher: String,
    /// Always `hmac-sha256`.
    pub names: String,
}

impl Default for Encryption {
    fn default() -> Self {
        Self {
            cipher: CIPHER.to_owned(),
            names: NAMES.to_owned(),
        }
    }
}

/// What opens an encrypted archive. Never printed.
#[derive(Clone)]
pub enum Unlock {
    /// A passphrase (key files of kind `passphrase`).
    Passphrase(Zeroizing<String>),
    /// The bytes of a key file the user keeps (key files of kind `keyFile`).
    KeyFile(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Passphrase(_) => "Unlock::Passphrase(…)",
            Self::KeyFile(_) => "Unlock::KeyFile(…)",
        })
    }
}

/// A key file: the master key wrapped by a key derived from a passphrase or a key file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyDoc {
    /// `passphrase` (Argon2id) or `keyFile` (HMAC-SHA256 of the salt, keyed by the file's bytes).
    pub kind: String,
    /// Argon2id memory in KiB (0 for key files).
    pub memory_kib: u32,
    /// Argon2id passes (0 for key files).
    pub iterations: u32,
    /// Argon2id lanes (0 for key files).
    pub parallelism: u32,
    /// 32 random bytes, hex.
    pub salt: String,
    /// The sealed master key (64 bytes), hex: nonce ‖ ciphertext ‖ tag, associated data
    /// `orgpack master key`.
    pub wrapped: String,
    /// When the key was added (RFC 3339).
    pub created: String,
    /// The machine it was added on.
    pub host: String,
}

/// The unwrapped master key of an archive.
pub struct Crypt {
    cipher: XChaCha20Poly1305,
    names: Zeroizing<[u8; 32]>,
    master: Zeroizing<[u8; 64]>,
}

impl std::fmt::Debug for Crypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crypt(…)")
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system gives random bytes");
    out
}

impl Crypt {
    /// A new random master key.
    #[must_use]
    pub fn generate() -> Self {
        Self::from_master(&Zeroizing::new(random::<64>()))
    }

    fn from_master(master: &[u8; 64]) -> Self {
        let mut names = Zeroizing::new([0u8; 32]);
        names.copy_from_slice(&master[32..]);
        Self {
            cipher: XChaCha20Poly1305::new_from_slice(&master[..32]).expect("a 32-byte key"),
            names,
            master: Zeroizing::new(*master),
        }
    }

    fn wrapping_key(doc: &KeyDoc, unlock: &Unlock) -> Option<Zeroizing<[u8; 32]>> {
        let salt = hex::decode(&doc.salt).ok()?;
        let mut out = Zeroizing::new([0u8; 32]);
        match (doc.kind.as_str(), unlock) {
            ("passphrase", Unlock::Passphrase(p)) => {
                let params =
                    argon2::Params::new(doc.memory_kib, doc.iterations, doc.parallelism, Some(32))
                        .ok()?;
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                    .hash_password_into(p.as_bytes(), &salt, out.as_mut())
                    .ok()?;
            }
            ("keyFile", Unlock::KeyFile(bytes)) => {
                let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(bytes).ok()?;
                mac.update(&salt);
                out.copy_from_slice(&mac.finalize().into_bytes());
            }
            _ => return None,
        }
        Some(out)
    }

    /// Wrap this master key for `unlock`: a new key file.
    #[must_use]
    pub fn wrap(&self, unlock: &Unlock) -> KeyDoc {
        let (kind, (memory_kib, iterations, parallelism)) = match unlock {
            Unlock::Passphrase(_) => ("passphrase", ARGON2),
            Unlock::KeyFile(_) => ("keyFile", (0, 0, 0)),
        };
        let mut doc = KeyDoc {
            kind: kind.to_owned(),
            memory_kib,
            iterations,
            parallelism,
            salt: hex::encode(random::<32>()),
            wrapped: String::new(),
            created: jiff::Timestamp::now().to_string(),
            host: crate::lock::host_name(),
        };
        let key = Self::wrapping_key(&doc, unlock).expect("parameters this build chose");
        let cipher = XChaCha20Poly1305::new_from_slice(key.as_ref()).expect("a 32-byte key");
        doc.wrapped = hex::encode(seal_with(
            &cipher,
            b"orgpack master key",
            self.master.as_ref(),
        ));
        doc
    }

    /// The master key in `doc`, when `unlock` opens it.
    #[must_use]
    pub fn unwrap(doc: &KeyDoc, unlock: &Unlock) -> Option<Self> {
        let key = Self::wrapping_key(doc, unlock)?;
        let cipher = XChaCha20Poly1305::new_from_slice(key.as_ref()).ok()?;
        let sealed = hex::decode(&doc.wrapped).ok()?;
        let master = Zeroizing::new(open_with(&cipher, b"orgpack master key", &sealed)?);
        let master: &[u8; 64] = master.as_slice().try_into().ok()?;
        Some(Self::from_master(master))
    }

    /// Whether `key` is stored sealed (blobs, manifests, the index; not the layout or key files).
    #[must_use]
    pub fn seals(key: &Key) -> bool {
        matches!(key, Key::Blob(_) | Key::Snapshot(_) | Key::Index)
    }

    /// The name `key` is stored under: keyed for blobs and manifests.
    #[must_use]
    pub fn stored(&self, key: &Key) -> Key {
        let keyed = |label: &[u8], d: &Digest| {
            let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(self.names.as_ref())
                .expect("HMAC takes any key length");
            mac.update(label);
            mac.update(d.as_bytes());
            Digest::from_bytes(mac.finalize().into_bytes().into())
        };
        match key {
            Key::Blob(d) => Key::Blob(keyed(b"blob:", d)),
            Key::Snapshot(d) => Key::Snapshot(keyed(b"snapshot:", d)),
            other => *other,
        }
    }

    /// Seal the plaintext of `key`.
    #[must_use]
    pub fn seal(&self, key: &Key, plain: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher, key.path().as_bytes(), plain)
    }

    /// Open what was stored for `key`.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when it does not authenticate: damaged, moved from another name, or
    /// sealed by another key.
    pub fn open(&self, key: &Key, sealed: &[u8], location: &str) -> Result<Vec<u8>> {
        open_with(&self.cipher, key.path().as_bytes(), sealed).ok_or_else(|| {
            Error::corrupt(
                location.to_owned(),
                format!(
                    "`{key}` does not authenticate: it was damaged, or sealed by another \
                     repository's key"
                ),
            )
        })
    }
}

fn seal_with(cipher: &XChaCha20Poly1305, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce_bytes = random::<24>();
    let nonce = XNonce::from(nonce_bytes);
    let sealed = cipher
        .encrypt(&nonce, Payload { msg: plain, aad })
        .expect("XChaCha20-Poly1305 seals any object this format allows");
    let mut out = Vec::with_capacity(24 + sealed.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&sealed);
    out
}

fn open_with(cipher: &XChaCha20Poly1305, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 24 + 16 {
        return None;
    }
    let (nonce, body) = sealed.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().ok()?;
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(p: &str) -> Unlock {
        Unlock::Passphrase(Zeroizing::new(p.to_owned()))
    }

    #[test]
    fn a_key_file_opens_with_its_passphrase_only() {
        let crypt = Crypt::generate();
        let doc = crypt.wrap(&pass("correct horse"));
        assert_eq!(doc.kind, "passphrase");
        let opened = Crypt::unwrap(&doc, &pass("correct horse")).expect("opens");
        assert_eq!(opened.master.as_ref(), crypt.master.as_ref());
        assert!(Crypt::unwrap(&doc, &pass("wrong horse")).is_none());
        assert!(Crypt::unwrap(&doc, &Unlock::KeyFile(Zeroizing::new(b"x".to_vec()))).is_none());
        let file = Unlock::KeyFile(Zeroizing::new(random::<32>().to_vec()));
        let by_file = crypt.wrap(&file);
        assert!(Crypt::unwrap(&by_file, &file).is_some());
        assert!(Crypt::unwrap(&by_file, &pass("correct horse")).is_none());
    }

    #[test]
    fn sealed_objects_authenticate_under_their_own_name_only() {
        let crypt = Crypt::generate();
        let d = Digest::of(b"chunk");
        let key = Key::Blob(d);
        let sealed = crypt.seal(&key, b"stored bytes");
        assert_eq!(sealed.len() as u64, 12 + OVERHEAD);
        assert!(!sealed.windows(5).any(|w| w == b"bytes"));
        assert_eq!(crypt.open(&key, &sealed, "here").unwrap(), b"stored bytes");
        let other = Key::Blob(Digest::of(b"other"));
        assert!(crypt.open(&other, &sealed, "here").is_err());
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(crypt.open(&key, &flipped, "here").is_err());
        assert!(Crypt::generate().open(&key, &sealed, "here").is_err());
        // Names are keyed: not the digest, stable for one key, different for another.
        assert_ne!(crypt.stored(&key), key);
        assert_eq!(crypt.stored(&key), crypt.stored(&key));
        assert_ne!(crypt.stored(&key), Crypt::generate().stored(&key));
        assert_ne!(
            crypt.stored(&Key::Snapshot(d)),
            Key::Snapshot(match crypt.stored(&key) {
                Key::Blob(x) => x,
                _ => unreachable!(),
            })
        );
        assert_eq!(crypt.stored(&Key::Index), Key::Index);
    }
}
