//! Where a repository being written keeps its objects: a directory or a bucket prefix, sealed
//! when the repository is encrypted (`store::sealed`).

use std::sync::Arc;

use crate::archive::Archive;
use crate::crypt::Crypt;
use crate::error::Result;
use crate::layout::{Key, Layout};
use crate::location::Location;
use crate::store::dir::DirStore;
use crate::store::remote::RemoteStore;
use crate::store::sealed::Sealed;
use crate::store::{Sink, Store};

/// A repository's objects.
#[derive(Debug)]
pub(crate) enum Backend {
    Dir(Sealed<DirStore>),
    Remote(Sealed<RemoteStore>),
}

impl Backend {
    pub(crate) fn store(&self) -> &dyn Store {
        match self {
            Self::Dir(d) => d,
            Self::Remote(r) => r,
        }
    }

    pub(crate) fn sink(&self) -> &dyn Sink {
        match self {
            Self::Dir(d) => d,
            Self::Remote(r) => r,
        }
    }

    pub(crate) fn crypt(&self) -> Option<&Arc<Crypt>> {
        match self {
            Self::Dir(d) => d.crypt(),
            Self::Remote(r) => r.crypt(),
        }
    }

    pub(crate) fn location(&self) -> Location {
        match self {
            Self::Dir(d) => Location::Local(d.inner().root().to_owned()),
            Self::Remote(r) => Location::Remote(r.inner().remote().clone()),
        }
    }

    /// Remove an object by its logical key; removing an absent one is not an error.
    pub(crate) fn delete(&self, key: &Key) -> Result<()> {
        self.delete_stored(&self.store().stored_key(key))
    }

    /// Remove an object by its stored name (as listed).
    pub(crate) fn delete_stored(&self, stored: &Key) -> Result<()> {
        match self {
            Self::Dir(d) => d.inner().delete(stored),
            Self::Remote(r) => r.inner().delete(stored),
        }
    }

    /// A read view of what is committed now.
    pub(crate) fn archive(&self, layout: &Layout) -> Result<Archive> {
        let raw: Box<dyn Store> = match self {
            Self::Dir(d) => Box::new(DirStore::new(d.inner().root())),
            Self::Remote(r) => Box::new(r.inner().clone()),
        };
        Archive::from_sealed(Sealed::new(raw, self.crypt().cloned()), layout.clone())
    }
}
