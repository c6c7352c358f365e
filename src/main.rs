//! The `dgen` command line: generate, write, verify and analyze data with exact dedup and
//! compression ratios. See `dgen --help`.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
