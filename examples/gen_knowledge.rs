//! Writes a knowledge folder for load tests: `gen_knowledge DEST N` copies the
//! bundled `knowledge/` to DEST and adds N generated entries (see docs/performance.md).

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dest), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: gen_knowledge DEST N");
        std::process::exit(2);
    };
    let n: usize = n
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("N: {e}")))?;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    secobot::knowledge::synthetic::generate(&src, std::path::Path::new(&dest), n)
}
