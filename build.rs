//! Build script: the git revision the binary is built from, for
//! `--version` (`FACTURARE_GIT_REV`). It tolerates a missing `.git` (a
//! tarball, a `cargo install` from a registry, a CI checkout without
//! history) and a missing `git`: the revision is then "unknown", unless
//! the builder sets `FACTURARE_GIT_REV` itself (a packager who knows it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FACTURARE_GIT_REV");
    let rev = std::env::var("FACTURARE_GIT_REV")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=FACTURARE_GIT_REV={}", rev.trim());
}

/// `git rev-parse --short=12 HEAD` in the package's folder, with a
/// rerun trigger on the files that move when HEAD does; `None` without git
/// or outside a repository.
fn git_revision() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"])?;
    // HEAD, the branch it points at, and packed refs: in a worktree the
    // git dir and the common dir differ; both are asked for.
    for d in [
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ]
    .into_iter()
    .flatten()
    {
        let d = Path::new(&d);
        for f in ["HEAD", "packed-refs"] {
            let p = d.join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let p = d.join(r);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    Some(rev)
}
