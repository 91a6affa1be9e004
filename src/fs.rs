//! `std::fs` with the path in every error, atomic writes, and the check that
//! an output never lands on a file the user needs ([`check_output`]).

use std::io;
use std::path::{Path, PathBuf};

/// An I/O error that names the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}", path.display())]
pub struct FsError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

fn wrap<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FsError + 'a {
    move |source| FsError {
        action,
        path: path.to_path_buf(),
        source,
    }
}

pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>, FsError> {
    let path = path.as_ref();
    std::fs::read(path).map_err(wrap("failed to read", path))
}

pub fn read_to_string(path: impl AsRef<Path>) -> Result<String, FsError> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(wrap("failed to read", path))
}

pub fn open(path: impl AsRef<Path>) -> Result<std::fs::File, FsError> {
    let path = path.as_ref();
    std::fs::File::open(path).map_err(wrap("failed to open", path))
}

pub fn create_dir_all(path: impl AsRef<Path>) -> Result<(), FsError> {
    let path = path.as_ref();
    std::fs::create_dir_all(path).map_err(wrap("failed to create directory", path))
}

/// Write `contents` to `path` atomically: a temporary file beside the target,
/// flushed and renamed into place. A crash leaves the old file untouched.
pub fn write_atomic(path: impl AsRef<Path>, contents: &[u8]) -> Result<(), FsError> {
    use std::io::Write;
    let path = path.as_ref();
    let mut tmp = temp_beside(path)?;
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(wrap("failed to write", path))?;
    persist(tmp, path)
}

/// A temporary file in the target's directory, to be [`persist`]ed when complete.
///
/// It is created with the permissions an ordinary new file gets (0666 less
/// the umask), not tempfile's private 0600, since it becomes the user's file.
pub fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, FsError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
        .tempfile_in(&dir)
        .map_err(wrap("failed to create a temporary file beside", path))
}

/// Rename a completed temporary file into place.
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), FsError> {
    tmp.persist(path).map(|_| ()).map_err(|e| FsError {
        action: "failed to move the finished file into place at",
        path: path.to_path_buf(),
        source: e.error,
    })
}

/// Write a secret file readable by its owner only (mode 0600), atomically.
pub fn write_secret(path: impl AsRef<Path>, contents: &[u8]) -> Result<(), FsError> {
    use std::io::Write;
    let path = path.as_ref();
    let mut tmp = temp_beside(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(wrap("failed to restrict permissions of", path))?;
    }
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(wrap("failed to write", path))?;
    persist(tmp, path)
}

/// A path made absolute, with symlinks and `..` resolved as far as the
/// path exists (a file not yet there: its folder resolved, its name kept;
/// a dangling symlink: followed to where it points).
pub fn resolve(path: &Path) -> PathBuf {
    resolve_depth(path, 0)
}

fn resolve_depth(path: &Path, depth: u32) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    if depth < 16 {
        if let Ok(target) = std::fs::read_link(&absolute) {
            let target = match absolute.parent() {
                Some(dir) if target.is_relative() => dir.join(target),
                _ => target,
            };
            return resolve_depth(&target, depth + 1);
        }
    }
    let mut out = PathBuf::new();
    for c in absolute.components() {
        use std::path::Component;
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => {
                out.push(other);
                // The part that exists, with its symlinks resolved.
                if let Ok(p) = out.canonicalize() {
                    out = p;
                }
            }
        }
    }
    out
}

/// Whether `a` and `b` are the same file: the same file on disk (a hard
/// link or a symlink included) when both exist, else the same path once
/// resolved.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    resolve(a) == resolve(b)
}

/// An output that would overwrite a file the user needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {} is {kept} {}: refusing to write over it", output.display(), path.display())]
pub struct Clash {
    /// The option that names the output (`--rejects`).
    pub what: String,
    pub output: PathBuf,
    /// What the kept file is (`the input file`, `the mapping`).
    pub kept: String,
    pub path: PathBuf,
}

/// Refuse `output` (named by the option `what`) when it resolves to one of
/// `kept` (what each is, and its path): symlinks, hard links and `..`
/// included.
pub fn check_output<'a>(
    what: &str,
    output: &Path,
    kept: impl IntoIterator<Item = (&'a str, &'a Path)>,
) -> Result<(), Clash> {
    for (kind, path) in kept {
        if same_file(output, path) {
            return Err(Clash {
                what: what.to_string(),
                output: output.to_path_buf(),
                kept: kind.to_string(),
                path: path.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokens.json");
        write_secret(&p, b"{}").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn finished_files_are_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("export.xlsx");
        write_atomic(&p, b"data").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // 0666 less whatever the umask takes away: group/others can read unless the umask forbids it.
        let umask = unsafe {
            let m = libc::umask(0);
            libc::umask(m);
            m as u32
        };
        assert_eq!(mode, 0o666 & !umask);
        assert_ne!(
            mode, 0o600,
            "umask {umask:o} would make this test meaningless"
        );
    }

    #[cfg(unix)]
    #[test]
    fn outputs_that_resolve_to_a_kept_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("in.csv"), "x").unwrap();
        let input = d.join("in.csv");
        let kept = [("the input file", input.as_path())];
        let refused = |out: &Path| check_output("--rejects", out, kept).is_err();
        assert!(refused(&input));
        assert!(refused(&d.join("sub/../in.csv")));
        std::os::unix::fs::symlink(&input, d.join("link.csv")).unwrap();
        assert!(refused(&d.join("link.csv")));
        std::fs::hard_link(&input, d.join("hard.csv")).unwrap();
        assert!(refused(&d.join("hard.csv")));
        // A dangling symlink pointing at a kept file not yet there.
        let ledger = d.join("ledger.db");
        std::os::unix::fs::symlink(&ledger, d.join("dangling")).unwrap();
        assert!(check_output(
            "-o",
            &d.join("dangling"),
            [("the ledger", ledger.as_path())]
        )
        .is_err());
        assert!(!refused(&d.join("out.csv")));
        assert!(!refused(&d.join("sub/in.csv")));
        let e = check_output("--rejects", &input, kept).unwrap_err();
        assert!(e.to_string().starts_with("--rejects "), "{e}");
        assert!(e.to_string().contains("is the input file"), "{e}");
    }

    #[test]
    fn errors_name_the_path() {
        let err = read("/definitely/not/here.csv").unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here.csv"));
    }
}
