//! A panic inside a dependency's decoder, turned into an error about the file.
//!
//! A decoder should answer damaged bytes with an error, but fuzzing found ones that do not
//! (fuzz/regressions/parquet/, vendor/README.md): an assertion in polars-utils trips on one of
//! polars' pool threads. A user handing us such a file must get an error naming it, not a panic
//! with a backtrace, so each call into a decoder of untrusted bytes runs under [`decode`], which
//! catches the unwind and keeps the default panic message off stderr while it runs.
//!
//! Worse, polars sizes its buffers by the value counts a file claims, and an allocation too
//! large aborts the process, which nothing can catch (fuzzing found a 2^61-byte one from a
//! damaged page header): [`check_parquet_claims`] checks the counts of rows and values first.
//! (Its footer reader, which reserved as many elements as a damaged list header claimed and
//! `expect`ed bool fields, is fixed in vendor/polars-parquet.)

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use crate::{ArtifactError, Result};

thread_local! {
    /// Whether this thread is inside [`decode`] (its panics are reported as errors instead).
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

/// How many threads are inside [`decode`]: polars decodes on its own pool threads (named
/// `polars-N`), whose panics reach the caller's `catch_unwind` through the pool's join.
static DECODES: AtomicUsize = AtomicUsize::new(0);

/// Whether a panic on this thread happens inside a decode: on the decoding thread itself, or on
/// a decoder's pool thread while a decode runs.
fn inside_decode() -> bool {
    DECODING.with(Cell::get)
        || (DECODES.load(Ordering::SeqCst) > 0
            && std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("polars")))
}

static HOOK: Once = Once::new();

/// Wrap the panic hook in place (the default one, or a fuzzer's) once: silent while decoding.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !inside_decode() {
                previous(info);
            }
        }));
    });
}

/// Run `f`, a dependency's decoder of `path`'s bytes (`what` says what was being read); a panic
/// in it becomes a `Layout` error naming `path`.
pub(crate) fn decode<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_hook();
    let was = DECODING.with(|d| d.replace(true));
    DECODES.fetch_add(1, Ordering::SeqCst);
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    DECODES.fetch_sub(1, Ordering::SeqCst);
    DECODING.with(|d| d.set(was));
    outcome.unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no reason given".into());
        Err(ArtifactError::layout(
            path,
            format!("not a readable {what}: its decoder failed ({reason}); the file is damaged"),
        ))
    })
}

/// The claims polars sizes buffers by, checked against the file's length: rows in the footer
/// and in its row groups, values per column chunk, and per data page (values and uncompressed
/// bytes). A file of ours holds, in every row, a column that takes at least a bit (an id, a
/// position, a haplotype), so more than 8 rows or values per byte of file is damage; a page
/// over 1 GiB uncompressed is too (our writers make pages of about a MiB).
pub(crate) fn check_parquet_claims(
    path: &Path,
    bytes: &polars_buffer::Buffer<u8>,
    meta: &polars_parquet::parquet::metadata::FileMetadata,
) -> Result<()> {
    use polars_parquet::parquet::page::CompressedPage;
    use polars_parquet::parquet::read::get_page_iterator;

    const MAX_PAGE_BYTES: usize = 1 << 30;
    let bound = 8 * bytes.len() + 64;
    let damaged = |what: String| {
        Err(ArtifactError::layout(
            path,
            format!(
                "not a readable Parquet file: {what} in {} bytes; the file is damaged",
                bytes.len()
            ),
        ))
    };
    let in_groups: usize = meta.row_groups.iter().map(|g| g.num_rows()).sum();
    if meta.num_rows > bound || in_groups != meta.num_rows {
        return damaged(format!(
            "its footer claims {} rows ({in_groups} in its row groups)",
            meta.num_rows
        ));
    }
    for group in &meta.row_groups {
        for chunk in group.parquet_columns() {
            let claimed = chunk.num_values();
            if claimed < 0 || claimed as usize > bound {
                return damaged(format!("a column chunk claims {claimed} values"));
            }
            let pages = get_page_iterator(
                chunk,
                std::io::Cursor::new(bytes.clone()),
                Vec::new(),
                MAX_PAGE_BYTES,
            )
            .map_err(|e| {
                ArtifactError::layout(path, format!("not a readable Parquet file: {e}"))
            })?;
            let mut seen = 0usize;
            for page in pages {
                // A page that does not parse ends the check (the reader does not move past it),
                // and polars then says why it cannot read it.
                let page = match page {
                    Ok(CompressedPage::Data(page)) => page,
                    Ok(CompressedPage::Dict(_)) => continue,
                    Err(_) => break,
                };
                seen = seen.saturating_add(page.num_values());
                if seen > claimed as usize || page.uncompressed_size() > MAX_PAGE_BYTES {
                    return damaged(format!(
                        "a data page claims {} values ({} bytes uncompressed) in a column chunk \
                         of {claimed}",
                        page.num_values(),
                        page.uncompressed_size()
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_decoding_is_an_error_naming_the_file() {
        let e = decode::<()>(Path::new("x.parquet"), "Parquet file", || {
            panic!("thrift bool field")
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("x.parquet: not a readable Parquet file"),
            "{e}"
        );
        assert!(e.contains("thrift bool field"), "{e}");
        assert_eq!(decode(Path::new("x"), "file", || Ok(3)).unwrap(), 3);
        // Outside decode, panics are panics again.
        assert!(panic::catch_unwind(|| panic!("still a panic")).is_err());
    }
}
