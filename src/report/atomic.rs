//! Write to a temporary name in the output folder, rename into place when complete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::ReportError;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A finished output under its temporary name. Dropping it without `commit` removes the
/// temporary file.
#[derive(Debug)]
pub(crate) struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl Staged {
    /// Renames the temporary file to its final name (replacing an older output).
    pub(crate) fn commit(mut self) -> Result<PathBuf, ReportError> {
        fs::rename(&self.tmp, &self.dest).map_err(|source| ReportError::Rename {
            file: self.dest.clone(),
            source,
        })?;
        self.done = true;
        Ok(self.dest.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The temporary name for `name`: hidden, unique per process and call.
fn tmp_name(name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.tmp-{}-{n}", std::process::id())
}

/// Writes `name` in `out_dir` under a temporary name with `body`, flushes and syncs it.
/// The result must be `commit`ted to appear under its real name.
pub(crate) fn stage<F>(out_dir: &Path, name: &str, body: F) -> Result<Staged, ReportError>
where
    F: FnOnce(&mut BufWriter<File>) -> io::Result<()>,
{
    let dest = out_dir.join(name);
    let tmp = out_dir.join(tmp_name(name));
    let fail = |source: io::Error| ReportError::Write {
        file: dest.clone(),
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(fail)?;
    // from here on, an early return drops `staged`, which removes the temporary file
    let staged = Staged {
        tmp,
        dest: dest.clone(),
        done: false,
    };
    let mut w = BufWriter::with_capacity(1 << 16, file);
    body(&mut w).map_err(fail)?;
    w.flush().map_err(fail)?;
    let file = w.into_inner().map_err(|e| fail(e.into_error()))?;
    file.sync_all().map_err(fail)?;
    drop(file);
    Ok(staged)
}

/// Makes the renames durable where the platform allows (best effort).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
