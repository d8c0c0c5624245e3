//! Typed calls: the portal, search with every page, and items.

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
        let mut start = 1u64;
        let mut out = Vec::new();
        loop {
            let start_s = start.to_string();
            let page = self
                .call(
                    "search",
                    Method::Get,
                    "search",
                    &[("q", query), ("start", &start_s), ("num", &num)],
                )
                .await?;
            let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
            if total > SEARCH_CEILING {
                return Err(Error::new(
                    "search",
                    query,
                    ErrorKind::Decode(format!(
                        "{total} results, over the portal's {SEARCH_CEILING}-result paging ceiling: split the query"
                    )),
                ));
            }
            let results = page
                .get("results")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Error::new(
                        "search",
                        query,
                        ErrorKind::Decode("a search page without `results`".into()),
                    )
                })?;
            out.extend(results.iter().cloned());
            match page.get("nextStart").and_then(Value::as_i64) {
                Some(next) if next > 0 && u64::try_from(next).is_ok_and(|n| n > start) => {
                    start = u64::try_from(next).unwrap_or(start);
                }
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
