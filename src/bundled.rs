//! What ships inside the binary: the `templates/` and `knowledge/` folders of
//! the repository, embedded at compile time, so `secobot` runs from any folder.
//!
//! Which copy a command uses (the same rule for templates and knowledge):
//! 1. the folder given with `--templates` / `--knowledge` (or `SECOBOT_*`);
//! 2. else `./templates` / `./knowledge` when it exists in the working directory
//!    (what `secobot init` writes, and the repository itself);
//! 3. else the embedded copy.
//!
//! The knowledge loader reads folders, so the embedded knowledge is written to a
//! private temporary folder that lives as long as the [`KnowledgeSource`]: the
//! loader stays the only reader of knowledge files, and an embedded copy, which
//! never changes, is not watched for reloads.

use std::fmt;
use std::path::{Path, PathBuf};

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "knowledge/"]
#[exclude = "*~"]
#[exclude = ".*"]
#[exclude = "*/.*"]
struct Knowledge;

#[derive(RustEmbed)]
#[folder = "templates/"]
#[exclude = "*~"]
#[exclude = ".*"]
#[exclude = "*/.*"]
struct Templates;

/// Why the bundled files could not be written out.
#[derive(Debug, thiserror::Error)]
pub enum BundledError {
    #[error("ya existe {0}: secobot init no sobrescribe archivos; elija una carpeta vacía o mueva ese archivo")]
    Exists(PathBuf),
    #[error("no se pudo escribir {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An embedded file's bytes, or `None` when the binary has no such file.
pub fn template(path: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
    Templates::get(path).map(|f| f.data)
}

/// The embedded template paths (relative, `/`-separated), sorted.
pub fn template_paths() -> Vec<String> {
    let mut paths: Vec<String> = Templates::iter().map(|p| p.into_owned()).collect();
    paths.sort();
    paths
}

/// Where the templates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    Dir(PathBuf),
    Embedded,
}

impl TemplateSource {
    /// Applies the rule in the module doc to `--templates`.
    pub fn resolve(flag: Option<&Path>) -> Self {
        match flag {
            Some(dir) => TemplateSource::Dir(dir.to_path_buf()),
            None if Path::new("templates").is_dir() => {
                TemplateSource::Dir(PathBuf::from("templates"))
            }
            None => TemplateSource::Embedded,
        }
    }
}

impl fmt::Display for TemplateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateSource::Dir(d) => write!(f, "{}", d.display()),
            TemplateSource::Embedded => f.write_str("plantillas incorporadas en el binario"),
        }
    }
}

/// A knowledge folder ready to load: one on disk, or the embedded copy written
/// to a temporary folder (removed when this is dropped).
#[derive(Debug)]
pub struct KnowledgeSource {
    dir: PathBuf,
    embedded: Option<tempfile::TempDir>,
}

impl KnowledgeSource {
    /// Applies the rule in the module doc to `--knowledge`.
    ///
    /// # Errors
    /// When the embedded copy cannot be written to a temporary folder.
    pub fn resolve(flag: Option<&Path>) -> Result<Self, BundledError> {
        match flag {
            Some(dir) => Ok(Self::dir(dir)),
            None if Path::new("knowledge").is_dir() => Ok(Self::dir(Path::new("knowledge"))),
            None => Self::embedded(),
        }
    }

    fn dir(dir: &Path) -> Self {
        KnowledgeSource {
            dir: dir.to_path_buf(),
            embedded: None,
        }
    }

    /// The embedded copy, written to a fresh temporary folder.
    ///
    /// # Errors
    /// When the temporary folder cannot be created or written.
    pub fn embedded() -> Result<Self, BundledError> {
        let tmp = tempfile::Builder::new()
            .prefix("secobot-conocimiento-")
            .tempdir()
            .map_err(|source| BundledError::Write {
                path: std::env::temp_dir(),
                source,
            })?;
        write_knowledge(tmp.path())?;
        Ok(KnowledgeSource {
            dir: tmp.path().to_path_buf(),
            embedded: Some(tmp),
        })
    }

    /// The folder to load.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A path under this folder as people should read it: for the embedded
    /// copy, as in the repository (`knowledge/faq/…`), not the temporary folder.
    pub fn shown(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.dir) {
            Ok(rest) if self.is_embedded() => Path::new("knowledge").join(rest),
            _ => path.to_path_buf(),
        }
    }

    /// Whether this is the embedded copy (which never changes: no watcher).
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }
}

impl fmt::Display for KnowledgeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_embedded() {
            f.write_str("conocimiento incorporado en el binario")
        } else {
            write!(f, "{}", self.dir.display())
        }
    }
}

/// `path` made absolute (for start-up messages: "where does it read from?").
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Writes the embedded knowledge under `to` (which may exist; files are replaced).
fn write_knowledge(to: &Path) -> Result<(), BundledError> {
    for path in Knowledge::iter() {
        if let Some(file) = Knowledge::get(&path) {
            write_file(&to.join(path.as_ref()), &file.data)?;
        }
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BundledError> {
    let err = |source| BundledError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

/// `secobot init DIR`: writes `DIR/knowledge/` (and `DIR/templates/` with
/// `templates`). Refuses before writing anything if any file already exists.
/// Returns the folders written.
///
/// # Errors
/// A file that already exists, or a write that fails.
pub fn init(dir: &Path, templates: bool) -> Result<Vec<PathBuf>, BundledError> {
    let mut files: Vec<(PathBuf, std::borrow::Cow<'static, [u8]>)> = Vec::new();
    for path in Knowledge::iter() {
        if let Some(f) = Knowledge::get(&path) {
            files.push((dir.join("knowledge").join(path.as_ref()), f.data));
        }
    }
    if templates {
        for path in Templates::iter() {
            if let Some(f) = Templates::get(&path) {
                files.push((dir.join("templates").join(path.as_ref()), f.data));
            }
        }
    }
    if let Some((existing, _)) = files.iter().find(|(p, _)| p.exists()) {
        return Err(BundledError::Exists(existing.clone()));
    }
    for (path, bytes) in &files {
        // create_new: a file appearing meanwhile is still not overwritten.
        let err = |source| BundledError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    BundledError::Exists(path.clone())
                } else {
                    err(e)
                }
            })?;
        f.write_all(bytes).map_err(err)?;
    }
    let mut written = vec![dir.join("knowledge")];
    if templates {
        written.push(dir.join("templates"));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_knowledge_loads() {
        let source = KnowledgeSource::embedded().unwrap();
        let k = crate::knowledge::Knowledge::load(
            source.path(),
            crate::knowledge::Mode::Spanish,
            crate::knowledge::Thresholds::default(),
        )
        .unwrap();
        assert!(k.entries.len() > 10);
        assert!(!k.flows.is_empty());
        let dir = source.path().to_path_buf();
        assert_eq!(
            source.shown(&dir.join("faq/a.md")),
            Path::new("knowledge/faq/a.md")
        );
        drop(source);
        assert!(!dir.exists(), "the temporary copy is removed");
    }

    #[test]
    fn init_refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        init(tmp.path(), true).unwrap();
        assert!(tmp.path().join("templates/widget.hbs").is_file());
        match init(tmp.path(), false) {
            Err(BundledError::Exists(p)) => assert!(p.starts_with(tmp.path().join("knowledge"))),
            other => panic!("{other:?}"),
        }
    }
}
