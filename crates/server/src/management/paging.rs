//! Auth0's paging parameters (`page`, `per_page`, `include_totals`) and list shapes: a bare
//! array, or with totals `{start, limit, length, total, <name>: […]}`. Paging ends with an
//! empty page.

use serde::Deserialize;
use serde_json::{Value, json};
use sigil_core::Page;

use super::error::MgmtError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Paging {
    pub(crate) page: Option<u32>,
    pub(crate) per_page: Option<u32>,
    #[serde(default)]
    pub(crate) include_totals: bool,
}

impl Paging {
    /// The page asked for: `per_page` 1 to 100 (default 50), as Auth0 allows.
    pub(crate) fn page(&self) -> Result<Page, MgmtError> {
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=Page::MAX_PER_PAGE).contains(&per_page) {
            return Err(MgmtError::bad_query(format!(
                "Query validation error: 'per_page' must be between 1 and {}.",
                Page::MAX_PER_PAGE
            )));
        }
        Ok(Page::new(self.page.unwrap_or(0), per_page))
    }

    /// A page of `all` (everything, already in order), shaped as Auth0 lists `name`.
    pub(crate) fn slice(&self, name: &str, all: Vec<Value>) -> Result<Value, MgmtError> {
        let total = all.len() as u64;
        let page = self.page()?;
        let start = (page.page as usize).saturating_mul(page.per_page as usize);
        let items: Vec<Value> = all
            .into_iter()
            .skip(start)
            .take(page.per_page as usize)
            .collect();
        Ok(listed(self, name, items, Some(total)))
    }
}

/// `items` (one page) as Auth0 lists `name`: a bare array, or with totals.
pub(crate) fn listed(paging: &Paging, name: &str, items: Vec<Value>, total: Option<u64>) -> Value {
    if !paging.include_totals {
        return Value::Array(items);
    }
    let page = paging.page().unwrap_or_else(|_| Page::new(0, 50));
    let start = u64::from(page.page) * u64::from(page.per_page);
    let length = items.len() as u64;
    let mut out = json!({
        "start": start,
        "limit": page.per_page,
        "length": length,
        name: items,
    });
    if let Some(total) = total {
        out["total"] = json!(total);
    }
    out
}
