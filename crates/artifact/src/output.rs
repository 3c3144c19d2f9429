//! All-or-nothing outputs of a stage.
//!
//! Each file is written to a hidden temporary file in its final directory and fsynced; nothing is
//! renamed into place until [`OutputSet::commit`], which first removes stale manifests of the
//! targets, then renames data files, then manifests, then fsyncs the directories. A stage that
//! fails or is killed before `commit` leaves no file that looks like an artifact: a data file
//! without its manifest is refused by every reader, and an old manifest never sits beside new data.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::manifest::{manifest_path, parent_dir, ArtifactKind, FileRef, Manifest, Producer};
use crate::variants::VARIANTS_FILE;
use crate::{ArtifactError, HashingWriter, Result};

struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    is_manifest: bool,
}

/// The files a stage is writing. Dropping it without `commit` deletes the temporaries.
#[derive(Default)]
pub struct OutputSet {
    staged: Vec<Staged>,
}

impl OutputSet {
    pub fn new() -> Self {
        OutputSet::default()
    }

    /// Stage data file `target`, written by `write`. Returns (sha256, bytes).
    pub fn stage_data<F>(&mut self, target: &Path, write: F) -> Result<(String, u64)>
    where
        F: FnOnce(&mut HashingWriter<BufWriter<File>>) -> Result<()>,
    {
        let tmp = self.stage_path(target, false)?;
        let file = File::create(&tmp).map_err(|e| ArtifactError::io(target, e))?;
        let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        // A writer's error without a path (a Parquet encoder's `No space left on device`) gets
        // the target's: the user must learn which file could not be written.
        write(&mut w).map_err(|e| match e {
            ArtifactError::Invalid { message } => {
                ArtifactError::layout(target, format!("could not write: {message}"))
            }
            e => e,
        })?;
        w.flush().map_err(|e| ArtifactError::io(target, e))?;
        let bytes = w.bytes_written();
        let (sha, buf) = w.finish();
        let file = buf
            .into_inner()
            .map_err(|e| ArtifactError::io(target, e.into_error()))?;
        file.sync_all().map_err(|e| ArtifactError::io(target, e))?;
        Ok((sha, bytes))
    }

    /// Stage `target` and its manifest. `manifest.sha256` and `bytes` are filled in here.
    pub fn stage_artifact<F>(
        &mut self,
        target: &Path,
        mut manifest: Manifest,
        write: F,
    ) -> Result<Manifest>
    where
        F: FnOnce(&mut HashingWriter<BufWriter<File>>) -> Result<()>,
    {
        let (sha, bytes) = self.stage_data(target, write)?;
        manifest.sha256 = sha;
        manifest.bytes = bytes;
        self.stage_manifest(target, &manifest)?;
        Ok(manifest)
    }

    /// Stage `target` as a byte-for-byte copy of `source`, with its manifest (a companion
    /// carried beside a later stage's output, e.g. the training group's variants).
    pub fn stage_copy(
        &mut self,
        target: &Path,
        manifest: Manifest,
        source: &Path,
    ) -> Result<Manifest> {
        self.stage_artifact(target, manifest, |w| {
            let mut f = File::open(source).map_err(|e| ArtifactError::io(source, e))?;
            std::io::copy(&mut f, w).map_err(|e| ArtifactError::io(source, e))?;
            Ok(())
        })
    }

    /// Stage a byte-for-byte copy of a group's variants table (`variants_path`, whose verified
    /// manifest is `source`) as `out_dir/variants.parquet`, so that the next stage finds it beside
    /// its input: gmmn-sketch carries it beside the sketch, gmmn-train beside the model. Returns
    /// the copy as the companion (role `variants`) that the sketch's or model's manifest lists.
    pub fn stage_variants_copy(
        &mut self,
        out_dir: &Path,
        producer: &Producer,
        group: &str,
        (variants_path, source): (&Path, &Manifest),
    ) -> Result<FileRef> {
        let mut manifest = Manifest::new(ArtifactKind::Variants, producer.clone())
            .param("group", group.to_string())
            .param("copied_from", "the group's variants, unchanged");
        manifest.shape = source.shape.clone();
        manifest.counts = source.counts.clone();
        manifest.inputs = vec![FileRef::new(
            "variants",
            variants_path,
            source.sha256.clone(),
            out_dir,
        )?];
        let target = out_dir.join(VARIANTS_FILE);
        let copy = self.stage_copy(&target, manifest, variants_path)?;
        FileRef::new("variants", &target, copy.sha256, out_dir)
    }

    /// Stage the manifest of data file `data`.
    pub fn stage_manifest(&mut self, data: &Path, manifest: &Manifest) -> Result<()> {
        let target = manifest_path(data);
        let tmp = self.stage_path(&target, true)?;
        let text = manifest.to_yaml()?;
        let mut file = File::create(&tmp).map_err(|e| ArtifactError::io(&target, e))?;
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| ArtifactError::io(&target, e))?;
        Ok(())
    }

    fn stage_path(&mut self, target: &Path, is_manifest: bool) -> Result<PathBuf> {
        let dir = parent_dir(target);
        fs::create_dir_all(&dir).map_err(|e| ArtifactError::io(&dir, e))?;
        let name = target
            .file_name()
            .ok_or_else(|| ArtifactError::Invalid {
                message: format!("{}: not a file name", target.display()),
            })?
            .to_string_lossy();
        remove_stale_temporaries(&dir, &name);
        let tmp = dir.join(format!(".{name}{TMP_INFIX}{}", std::process::id()));
        self.staged.push(Staged {
            tmp: tmp.clone(),
            target: target.to_path_buf(),
            is_manifest,
        });
        Ok(tmp)
    }

    /// Move every staged file into place: data first, manifests last.
    pub fn commit(mut self) -> Result<()> {
        let staged = std::mem::take(&mut self.staged);
        for s in staged.iter().filter(|s| s.is_manifest) {
            match fs::remove_file(&s.target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ArtifactError::io(&s.target, e)),
            }
        }
        let (manifests, data): (Vec<&Staged>, Vec<&Staged>) =
            staged.iter().partition(|s| s.is_manifest);
        let mut dirs: Vec<PathBuf> = Vec::new();
        let kill_after = fault::kill_after_renames();
        for (i, s) in data.into_iter().chain(manifests).enumerate() {
            if kill_after == Some(i) {
                fault::kill_self();
            }
            fs::rename(&s.tmp, &s.target).map_err(|e| ArtifactError::io(&s.target, e))?;
            let d = parent_dir(&s.target);
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        for d in dirs {
            // fsync the directory so the renames themselves are durable.
            if let Ok(f) = File::open(&d) {
                let _ = f.sync_all();
            }
        }
        Ok(())
    }
}

/// Temporaries are `.<target name>.tmp-<pid>`.
const TMP_INFIX: &str = ".tmp-";

/// Remove `.<name>.tmp-<pid>` files in `dir` left by a process that no longer runs (a stage
/// killed before its commit cannot clean up after itself; a later run of the stage does).
/// A temporary of a live process is left alone. Only where /proc tells which processes live.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let prefix = format!(".{name}{TMP_INFIX}");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !alive(&proc.join(pid)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether the process of `/proc/<pid>` runs: it exists and is not a zombie (a killed stage
/// whose parent died too stays a zombie until init reaps it, which in a container may be never).
fn alive(proc_pid: &Path) -> bool {
    let Ok(stat) = fs::read_to_string(proc_pid.join("stat")) else {
        return false;
    };
    // `pid (comm) state ...`; comm may hold spaces and parentheses, the state follows the last `)`.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X'))
}

/// A fault-injection point for the kill -9 harness (tests/faults.rs, `make faults`): with
/// `GMMN_FAULT_KILL=<program>:<n>` in its environment, the process whose executable is named
/// `<program>` kills itself with SIGKILL just before the n-th rename of a commit (0-based), so
/// the harness can stop a stage in the middle of its atomic write, which a kill at a random time
/// almost never hits. Unset, it costs one environment lookup per commit.
mod fault {
    pub(super) fn kill_after_renames() -> Option<usize> {
        let spec = std::env::var("GMMN_FAULT_KILL").ok()?;
        let (program, n) = spec.rsplit_once(':')?;
        let exe = std::env::current_exe().ok()?;
        (exe.file_name()?.to_str()? == program).then(|| n.parse().ok())?
    }

    pub(super) fn kill_self() -> ! {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        // The signal is on its way; never go on to the rename.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        for s in &self.staged {
            let _ = fs::remove_file(&s.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{open_artifact, ArtifactKind, Producer};

    fn manifest() -> Manifest {
        Manifest::new(ArtifactKind::Variants, Producer::new("t", "t", "0"))
    }

    #[test]
    fn nothing_lands_without_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.bin");
        {
            let mut out = OutputSet::new();
            out.stage_artifact(&target, manifest(), |w| {
                w.write_all(b"data")
                    .map_err(|e| ArtifactError::io("a.bin", e))
            })
            .unwrap();
            // dropped: an interrupted stage
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_then_verify_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.bin");
        let mut out = OutputSet::new();
        out.stage_artifact(&target, manifest(), |w| {
            w.write_all(b"data")
                .map_err(|e| ArtifactError::io("a.bin", e))
        })
        .unwrap();
        out.commit().unwrap();
        let m = open_artifact(&target, ArtifactKind::Variants).unwrap();
        assert_eq!(m.bytes, 4);

        let err = open_artifact(&target, ArtifactKind::Genotypes).unwrap_err();
        assert!(matches!(err, ArtifactError::WrongKind { .. }), "{err}");

        fs::write(&target, b"dat!").unwrap();
        let err = open_artifact(&target, ArtifactKind::Variants).unwrap_err();
        assert!(matches!(err, ArtifactError::HashMismatch { .. }));
        assert!(err.to_string().contains("a.bin"), "{err}");

        let mpath = manifest_path(&target);
        let text = fs::read_to_string(&mpath).unwrap();
        fs::write(
            &mpath,
            text.replace("schema_version: 1", "schema_version: 99"),
        )
        .unwrap();
        let err = open_artifact(&target, ArtifactKind::Variants).unwrap_err();
        assert!(
            matches!(err, ArtifactError::UnsupportedSchema { found: 99, .. }),
            "{err}"
        );

        fs::remove_file(&mpath).unwrap();
        let err = open_artifact(&target, ArtifactKind::Variants).unwrap_err();
        assert!(matches!(err, ArtifactError::MissingManifest { .. }));
        assert!(err.to_string().contains("a.bin.meta.yaml"), "{err}");
    }
}
