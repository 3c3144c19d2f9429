use std::path::PathBuf;

/// Every error names the file it is about: users meet these at the command line.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no manifest (expected {manifest}); only files written by a gmmn stage can be read here")]
    MissingManifest { path: PathBuf, manifest: PathBuf },
    #[error("{path}: unreadable manifest: {message}")]
    BadManifest { path: PathBuf, message: String },
    #[error("{path}: manifest says kind `{found}`, expected `{expected}`")]
    WrongKind {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{path}: manifest schema_version {found} is not one this build reads (it reads {supported})")]
    UnsupportedSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path}: sha256 {actual} does not match its manifest ({recorded}); the file changed after it was written")]
    HashMismatch {
        path: PathBuf,
        recorded: String,
        actual: String,
    },
    #[error("{path}: {message}")]
    Layout { path: PathBuf, message: String },
    #[error("{message}")]
    Invalid { message: String },
}

impl ArtifactError {
    /// An I/O error about `path`; for stages too, so that every error names its file.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ArtifactError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn layout(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        ArtifactError::Layout {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
