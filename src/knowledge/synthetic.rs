//! Synthetic knowledge folders for benchmarks and load tests: the bundled
//! folder plus `n` generated entries made of its own vocabulary, so real
//! questions still find their entries among many plausible distractors.

use std::io;
use std::path::Path;

/// Writes the bundled folder `src` plus `n` generated FAQ entries into `dest`.
///
/// # Errors
/// When a file cannot be read or written.
pub fn generate(src: &Path, dest: &Path, n: usize) -> io::Result<()> {
    copy_dir(src, dest)?;
    let mut words: Vec<String> = Vec::new();
    for sub in ["faq", "terms"] {
        collect_words(&src.join(sub), &mut words)?;
    }
    words.sort();
    words.dedup();
    if words.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the source folder has no words",
        ));
    }
    // xorshift: deterministic, so every run measures the same folder.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut pick = |k: usize| -> String {
        (0..k)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                words[(seed % words.len() as u64) as usize].as_str()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let faq = dest.join("faq");
    std::fs::create_dir_all(&faq)?;
    for i in 0..n {
        let text = format!(
            "---\ntitle: \"{} {i}\"\nquestions:\n  - \"{}\"\n  - \"{}\"\n  - \"{}\"\n---\n{}\n",
            pick(5),
            pick(6),
            pick(7),
            pick(5),
            pick(60)
        );
        std::fs::write(faq.join(format!("sintetica-{i:05}.md")), text)?;
    }
    Ok(())
}

/// The words of every Markdown file under `dir` (group folders included).
fn collect_words(dir: &Path, words: &mut Vec<String>) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.is_dir() {
            collect_words(&path, words)?;
        } else if path.extension().is_some_and(|x| x == "md") {
            let text = std::fs::read_to_string(path)?;
            words.extend(
                text.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.chars().count() > 3)
                    .map(str::to_lowercase),
            );
        }
    }
    Ok(())
}

/// Copies a folder recursively.
///
/// # Errors
/// When a file cannot be read or written.
pub fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
