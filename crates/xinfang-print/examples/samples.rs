//! Writes one sample PDF of every notice into a folder, to preview the templates:
//! `cargo run -p xinfang-print --example samples -- OUT_DIR [HALL_TEMPLATES_DIR]`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: samples OUT_DIR [HALL_TEMPLATES_DIR]")?,
    );
    let overrides = args.next().map(PathBuf::from);
    std::fs::create_dir_all(&out)?;
    let printer = xinfang_print::Printer::bundled(overrides.as_deref())?;
    for notice in xinfang_print::samples::all() {
        let path = out.join(format!("{}.pdf", notice.kind.code()));
        printer.render_to(&notice, &path)?;
        println!("{}", path.display());
    }
    Ok(())
}
