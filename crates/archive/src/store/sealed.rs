//! Any store, sealed: what an encrypted archive's readers and writers go through
//! (`crate::crypt`, spec/archive-format.md §3.7).
//!
//! Callers keep speaking in logical keys and plaintext stored bytes (a blob's zstd frame, a
//! manifest's JSON); this layer stores each sealed object under its keyed name. Without a key it
//! passes everything through unchanged, so one type serves plain and encrypted archives.
//! Listings are the exception: a stored name cannot be turned back into its key, so
//! [`Store::list`] returns stored names, and callers that compare a listing with the keys they
//! know map those keys with [`Store::stored_key`].

use std::path::Path;
use std::sync::Arc;

use super::{Form, ListKind, Listed, Sink, Store};
use crate::crypt::{Crypt, OVERHEAD};
use crate::error::Result;
use crate::layout::Key;

/// `inner`, sealed by `crypt` when there is one.
#[derive(Debug)]
pub struct Sealed<S> {
    inner: S,
    crypt: Option<Arc<Crypt>>,
}

impl<S> Sealed<S> {
    /// Seal `inner` with `crypt` (`None`: a plain archive, passed through).
    pub fn new(inner: S, crypt: Option<Arc<Crypt>>) -> Self {
        Self { inner, crypt }
    }

    /// The store underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The store underneath, taken out.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The key, when the archive is encrypted.
    pub fn crypt(&self) -> Option<&Arc<Crypt>> {
        self.crypt.as_ref()
    }

    /// `key`'s object as stored: sealed when it should be.
    pub fn seal(&self, key: &Key, bytes: &[u8]) -> Vec<u8> {
        match &self.crypt {
            Some(c) if Crypt::seals(key) => c.seal(key, bytes),
            _ => bytes.to_vec(),
        }
    }

    /// The name `key` is stored under.
    pub fn name(&self, key: &Key) -> Key {
        match &self.crypt {
            Some(c) => c.stored(key),
            None => *key,
        }
    }

    fn sealed(&self, key: &Key) -> bool {
        self.crypt.is_some() && Crypt::seals(key)
    }
}

impl<S: Store> Sealed<S> {
    /// The plaintext of `key`'s stored object.
    ///
    /// # Errors
    /// [`crate::Error::Corrupt`] when it does not authenticate.
    pub fn open(&self, key: &Key, stored: Vec<u8>) -> Result<Vec<u8>> {
        match &self.crypt {
            Some(c) if Crypt::seals(key) => c.open(
                key,
                &stored,
                &format!("archive `{}`", self.inner.location().display()),
            ),
            _ => Ok(stored),
        }
    }
}

impl<S: Store> Store for Sealed<S> {
    fn location(&self) -> &Path {
        self.inner.location()
    }

    fn form(&self) -> Form {
        self.inner.form()
    }

    fn get(&self, key: &Key) -> Result<Vec<u8>> {
        let stored = self.inner.get(&self.stored_key(key))?;
        self.open(key, stored)
    }

    fn get_prefix(&self, key: &Key, len: usize) -> Result<(Vec<u8>, u64)> {
        if !self.sealed(key) {
            return self.inner.get_prefix(key, len);
        }
        // Authentication needs the whole object.
        let mut plain = self.get(key)?;
        let size = plain.len() as u64;
        plain.truncate(len);
        Ok((plain, size))
    }

    fn size(&self, key: &Key) -> Result<Option<u64>> {
        let size = self.inner.size(&self.stored_key(key))?;
        Ok(if self.sealed(key) {
            size.map(|s| s.saturating_sub(OVERHEAD))
        } else {
            size
        })
    }

    fn list(&self, kind: ListKind) -> Result<Vec<Listed>> {
        let mut listed = self.inner.list(kind)?;
        if self.crypt.is_some() && kind != ListKind::Keys {
            for l in &mut listed {
                l.size = l.size.saturating_sub(OVERHEAD);
            }
        }
        Ok(listed)
    }

    fn stored_key(&self, key: &Key) -> Key {
        self.name(key)
    }

    fn unknown_entries(&self) -> Vec<String> {
        self.inner.unknown_entries()
    }
}

impl<S: Sink> Sink for Sealed<S> {
    fn contains(&self, key: &Key) -> Result<bool> {
        self.inner.contains(&self.name(key))
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        self.inner.put(&self.name(key), &self.seal(key, bytes))
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }
}

impl Store for Box<dyn Store> {
    fn location(&self) -> &Path {
        (**self).location()
    }

    fn form(&self) -> Form {
        (**self).form()
    }

    fn get(&self, key: &Key) -> Result<Vec<u8>> {
        (**self).get(key)
    }

    fn get_prefix(&self, key: &Key, len: usize) -> Result<(Vec<u8>, u64)> {
        (**self).get_prefix(key, len)
    }

    fn size(&self, key: &Key) -> Result<Option<u64>> {
        (**self).size(key)
    }

    fn list(&self, kind: ListKind) -> Result<Vec<Listed>> {
        (**self).list(kind)
    }

    fn stored_key(&self, key: &Key) -> Key {
        (**self).stored_key(key)
    }

    fn unknown_entries(&self) -> Vec<String> {
        (**self).unknown_entries()
    }
}
