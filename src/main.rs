//! The `secobot` binary: see `secobot --help` and PROTOCOL.md.

fn main() {
    let code = match secobot::cli::run() {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
