//! The listings sources publish (the versions index, a package index's
//! project page): fetched fresh when the network allows, kept for the day it
//! does not.

use fs_err as fs;
use std::path::{Path, PathBuf};

use super::Result;
use super::context::Context;
pub(super) use super::context::Fetched;
use crate::download;

/// GETs `url` (asking for `accept` when given) once per run, and keeps a copy for
/// [`cached`]. The flag says whether this call asked the network (and so should tell).
pub(super) fn fetch(ctx: &Context, url: &str, accept: Option<&str>) -> Result<(Fetched, bool)> {
    if let Some(fetched) = ctx.listings.borrow().get(url) {
        return Ok((fetched.clone(), false));
    }
    let fetched = match ctx.client()?.get_text_accepting(url, accept, ctx.reporter) {
        Ok(text) => {
            write_cache(&ctx.layout.index_cache(url), &text)?;
            Fetched::Fresh(text)
        }
        Err(download::Error::Network { reason, .. }) => Fetched::Unreachable(reason),
        Err(e) if unreachable(&e) => Fetched::Unreachable(e.to_string()),
        Err(e) => return Err(e.into()),
    };
    ctx.listings.borrow_mut().insert(url.to_string(), fetched.clone());
    Ok((fetched, true))
}

/// The copy kept from the last time `url` answered, and where it is.
pub(super) fn cached(ctx: &Context, url: &str) -> Option<(String, PathBuf)> {
    let path = ctx.layout.index_cache(url);
    fs::read_to_string(&path).ok().map(|text| (text, path))
}

fn unreachable(error: &download::Error) -> bool {
    error.is_unreachable() || matches!(error, download::Error::Status { status, .. } if *status >= 500)
}

fn write_cache(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().expect("cache files live in a directory");
    fs::create_dir_all(dir)?;
    Ok(crate::fsutil::write_atomically(path, text.as_bytes(), 0o600)?)
}
