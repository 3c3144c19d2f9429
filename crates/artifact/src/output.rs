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
        let file = File::create(&tmp).map_err(|e| ArtifactError::io(&tmp, e))?;
        let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        write(&mut w)?;
        w.flush().map_err(|e| ArtifactError::io(&tmp, e))?;
        let bytes = w.bytes_written();
        let (sha, buf) = w.finish();
        let file = buf
            .into_inner()
            .map_err(|e| ArtifactError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| ArtifactError::io(&tmp, e))?;
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
        let mut file = File::create(&tmp).map_err(|e| ArtifactError::io(&tmp, e))?;
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| ArtifactError::io(&tmp, e))?;
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
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
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
        for s in data.into_iter().chain(manifests) {
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
