//! Typed calls: the portal, search with every page, and items.

use std::fmt::Write as _;

use serde_json::Value;

use crate::client::{Client, Method};
use crate::error::{Error, ErrorKind};

/// The most results one search query returns through paging; larger result sets must be split.
pub const SEARCH_CEILING: u64 = 10_000;

impl Client {
    /// `portals/self`: the organization, its id, its user, its version.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn portal_self(&self) -> Result<Value, Error> {
        self.call("portals/self", Method::Get, "portals/self", &[])
            .await
    }

    /// Every result of a search, page by page (`start`/`num`, following `nextStart` until -1).
    ///
    /// # Errors
    /// As [`Client::call`]; [`ErrorKind::Decode`] when a page is malformed or the query matches
    /// more than [`SEARCH_CEILING`] items (split the query, by owner or date).
    pub async fn search_all(&self, query: &str, page_size: u32) -> Result<Vec<Value>, Error> {
        let num = page_size.clamp(1, 100).to_string();
        self.all_pages(
            "search",
            "search",
            &[("q", query)],
            &num,
            "results",
            Some(SEARCH_CEILING),
        )
        .await
    }

    /// Every element under `key` of a paged listing, 100 a page, without a ceiling.
    pub(crate) async fn pages(
        &self,
        call: &str,
        path: &str,
        params: &[(&str, &str)],
        key: &str,
    ) -> Result<Vec<Value>, Error> {
        self.all_pages(call, path, params, "100", key, None).await
    }

    /// [`Client::pages`], each element turned into what `keep` makes of it as its page arrives
    /// (`None`: dropped), so a long listing is never held whole as JSON values.
    pub(crate) async fn pages_kept<T>(
        &self,
        call: &str,
        path: &str,
        params: &[(&str, &str)],
        key: &str,
        keep: impl FnMut(Value) -> Option<T>,
    ) -> Result<Vec<T>, Error> {
        self.all_pages_kept(call, path, params, "100", key, None, keep)
            .await
    }

    /// Every element under `key` of a paged listing (`start`/`num`, following `nextStart` until
    /// -1), refusing listings whose `total` passes `ceiling`.
    async fn all_pages(
        &self,
        call: &str,
        path: &str,
        params: &[(&str, &str)],
        num: &str,
        key: &str,
        ceiling: Option<u64>,
    ) -> Result<Vec<Value>, Error> {
        self.all_pages_kept(call, path, params, num, key, ceiling, Some)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn all_pages_kept<T>(
        &self,
        call: &str,
        path: &str,
        params: &[(&str, &str)],
        num: &str,
        key: &str,
        ceiling: Option<u64>,
        mut keep: impl FnMut(Value) -> Option<T>,
    ) -> Result<Vec<T>, Error> {
        let mut start = 1u64;
        let mut out = Vec::new();
        loop {
            let start_s = start.to_string();
            let mut all = params.to_vec();
            all.extend([("start", start_s.as_str()), ("num", num)]);
            let mut page = self.call(call, Method::Get, path, &all).await?;
            let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
            if let Some(limit) = ceiling.filter(|l| total > *l) {
                return Err(Error::new(
                    call,
                    &self.absolute(path),
                    ErrorKind::Decode(format!(
                        "{total} results, over the portal's {limit}-result paging ceiling: split the query"
                    )),
                ));
            }
            let items = page
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .ok_or_else(|| {
                    Error::new(
                        call,
                        &self.absolute(path),
                        ErrorKind::Decode(format!("a page without `{key}`")),
                    )
                })?;
            out.extend(std::mem::take(items).into_iter().filter_map(&mut keep));
            match page
                .get("nextStart")
                .and_then(Value::as_i64)
                .and_then(|n| u64::try_from(n).ok())
            {
                Some(next) if next > start => start = next,
                _ => return Ok(out),
            }
        }
    }

    /// An item's JSON (`content/items/<id>`), every field as the portal sent it.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::is_not_found`] for a missing item.
    pub async fn item(&self, id: &str) -> Result<Value, Error> {
        self.call(
            &format!("item {id}"),
            Method::Get,
            &format!("content/items/{id}"),
            &[],
        )
        .await
    }
}

/// One item resource, as `content/items/<id>/resources` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// The full path (`images/logo.png`).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Client {
    /// Stream an item's data into `sink`; `Ok(None)` for items without data.
    ///
    /// # Errors
    /// As [`Client::download`].
    pub async fn item_data<W>(&self, id: &str, sink: &mut W) -> Result<Option<u64>, Error>
    where
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        self.download(
            &format!("data of item {id}"),
            &format!("content/items/{id}/data"),
            sink,
        )
        .await
    }

    /// Stream an item's thumbnail (`thumbnail` is the item JSON's value, `thumbnail/<file>`).
    ///
    /// # Errors
    /// As [`Client::download`].
    pub async fn item_thumbnail<W>(
        &self,
        id: &str,
        thumbnail: &str,
        sink: &mut W,
    ) -> Result<Option<u64>, Error>
    where
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        self.download(
            &format!("thumbnail of item {id}"),
            &format!("content/items/{id}/info/{thumbnail}"),
            sink,
        )
        .await
    }

    /// Stream an item's ArcGIS metadata (`metadata.xml`); `Ok(None)` when it has none.
    ///
    /// # Errors
    /// As [`Client::download`], except that a missing document is `Ok(None)`.
    pub async fn item_metadata<W>(&self, id: &str, sink: &mut W) -> Result<Option<u64>, Error>
    where
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        match self
            .download(
                &format!("metadata of item {id}"),
                &format!("content/items/{id}/info/metadata/metadata.xml"),
                sink,
            )
            .await
        {
            Err(e) if e.is_not_found() => Ok(None),
            other => other,
        }
    }

    /// Every resource of an item, all pages.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn item_resources(&self, id: &str) -> Result<Vec<ResourceInfo>, Error> {
        let listed = self
            .all_pages(
                &format!("resources of item {id}"),
                &format!("content/items/{id}/resources"),
                &[],
                "100",
                "resources",
                None,
            )
            .await?;
        Ok(listed
            .iter()
            .filter_map(|r| {
                let path = r.get("resource").and_then(Value::as_str)?;
                Some(ResourceInfo {
                    path: path.to_owned(),
                    size: r.get("size").and_then(Value::as_u64).unwrap_or(0),
                })
            })
            .collect())
    }

    /// Stream one resource (`path` with its folders, as listed).
    ///
    /// # Errors
    /// As [`Client::download`].
    pub async fn item_resource<W>(
        &self,
        id: &str,
        path: &str,
        sink: &mut W,
    ) -> Result<Option<u64>, Error>
    where
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        let encoded: Vec<String> = path.split('/').map(percent_encode).collect();
        self.download(
            &format!("resource `{path}` of item {id}"),
            &format!("content/items/{id}/resources/{}", encoded.join("/")),
            sink,
        )
        .await
    }

    /// The items related to `id` by `relationship_type` in one direction (`forward`: `id` is the
    /// origin).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn related_items(
        &self,
        id: &str,
        relationship_type: &str,
        forward: bool,
    ) -> Result<Vec<Value>, Error> {
        let direction = if forward { "forward" } else { "reverse" };
        let page = self
            .call(
                &format!("{relationship_type} {direction} of item {id}"),
                Method::Get,
                &format!("content/items/{id}/relatedItems"),
                &[
                    ("relationshipType", relationship_type),
                    ("direction", direction),
                ],
            )
            .await?;
        Ok(page
            .get("relatedItems")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// The items related to `id` by any of `relationship_types` in one direction, in one request
    /// (`relationshipTypes`, comma-separated): which type relates each is not in the answer.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn related_items_any(
        &self,
        id: &str,
        relationship_types: &[&str],
        forward: bool,
    ) -> Result<Vec<Value>, Error> {
        let direction = if forward { "forward" } else { "reverse" };
        let types = relationship_types.join(",");
        let page = self
            .call(
                &format!("relationships {direction} of item {id}"),
                Method::Get,
                &format!("content/items/{id}/relatedItems"),
                &[
                    ("relationshipTypes", types.as_str()),
                    ("direction", direction),
                ],
            )
            .await?;
        Ok(page
            .get("relatedItems")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// The groups an item is shared with, as far as the caller can see: `{admin, member, other}`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn item_groups(&self, id: &str) -> Result<Value, Error> {
        self.call(
            &format!("groups of item {id}"),
            Method::Get,
            &format!("content/items/{id}/groups"),
            &[],
        )
        .await
    }
}

/// Percent-encode one path segment (RFC 3986 unreserved characters stay).
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
