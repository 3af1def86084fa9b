//! Printed notices (告知书, 意见书, 协议书) to PDF, with typst as a library.
//!
//! The notice's facts come from `xinfang_core::notice` as a plain [`NoticeData`]; the wording and
//! layout come from typst templates read at run time (`assets/templates/<kind>.typ`, which import
//! `common.typ`), so a hall can adjust them without a rebuild: a folder given before the bundled
//! one (e.g. `<data dir>/templates`) overrides any file of the same name. Fonts are read from a
//! folder too (`assets/fonts`), never from the system, so every desk prints the same pages.
//!
//! Nothing is left to chance: a character no font has, an unknown font family or any other
//! template warning is an error, rather than an empty box or a silent fallback on paper.
//!
//! This crate is the only one that links typst; the CLI and the desktop app call [`Printer`].

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Dict, Duration, IntoValue, Str};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use xinfang_core::notice::NoticeData;

use chrono::Datelike;

pub mod report;
pub mod samples;
pub mod slip;

/// Why a notice could not be printed. `Display` is Chinese, for the clerk or the administrator.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error(
        "找不到文书模板 {file}（查找了：{searched}）：请从安装包中恢复 assets/templates，或把大厅调整过的模板放回模板目录。"
    )]
    TemplateMissing { file: String, searched: String },
    #[error(
        "文书模板 {file} 第 {line} 行有问题：{message}。请修正该模板后重试（可与 assets/templates 中的原版对照）。"
    )]
    Template {
        file: String,
        line: usize,
        message: String,
    },
    #[error("字体目录 {0} 中没有可用的字体：请从安装包中恢复 assets/fonts。")]
    NoFonts(PathBuf),
    #[error(
        "以下字符在打印字体中没有，无法打印：{chars}。请核对是否录入有误；如确为生僻字，请在 assets/fonts 中加入含有该字的字体。"
    )]
    MissingGlyphs { chars: String },
    #[error("无法读取 {0}：{1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("文书数据无法转换：{0}")]
    Data(#[from] serde_json::Error),
}

/// Where the bundled assets are: `$XINFANG_ASSETS_DIR`, else an `assets` folder next to the
/// executable (or in `../share/xinfang/` from it), else the source tree this was built from.
pub fn default_assets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XINFANG_ASSETS_DIR") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(bin) = exe.parent()
    {
        for candidate in [bin.join("assets"), bin.join("../share/xinfang/assets")] {
            if candidate.join("templates").is_dir() {
                return candidate;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets")
}

/// Loaded fonts and the template folders; cheap to keep for the life of the app.
pub struct Printer {
    template_dirs: Vec<PathBuf>,
    fonts: Vec<Font>,
    book: LazyHash<FontBook>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("template_dirs", &self.template_dirs)
            .field("families", &self.families())
            .finish()
    }
}

impl Printer {
    /// Templates looked up in `template_dirs` in order (hall overrides first), fonts from every
    /// `.otf`, `.ttf`, `.ttc` and `.otc` file in `fonts_dir`.
    pub fn new(template_dirs: Vec<PathBuf>, fonts_dir: &Path) -> Result<Printer, PrintError> {
        let entries =
            std::fs::read_dir(fonts_dir).map_err(|e| PrintError::Io(fonts_dir.to_path_buf(), e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                    ["otf", "ttf", "ttc", "otc"].contains(&x.to_ascii_lowercase().as_str())
                })
            })
            .collect();
        paths.sort();
        let mut fonts = Vec::new();
        for p in paths {
            let data = std::fs::read(&p).map_err(|e| PrintError::Io(p.clone(), e))?;
            fonts.extend(Font::iter(Bytes::new(data)));
        }
        if fonts.is_empty() {
            return Err(PrintError::NoFonts(fonts_dir.to_path_buf()));
        }
        let book = LazyHash::new(FontBook::from_fonts(&fonts));
        Ok(Printer {
            template_dirs,
            fonts,
            book,
        })
    }

    /// The bundled templates and fonts, with `override_dir` (a hall's adjusted templates)
    /// searched first when given.
    pub fn bundled(override_dir: Option<&Path>) -> Result<Printer, PrintError> {
        let assets = default_assets_dir();
        let mut dirs: Vec<PathBuf> = override_dir.map(Path::to_path_buf).into_iter().collect();
        dirs.push(assets.join("templates"));
        Printer::new(dirs, &assets.join("fonts"))
    }

    /// Font family names as templates must name them, e.g. `Noto Serif CJK SC`.
    pub fn families(&self) -> Vec<String> {
        let set: BTreeSet<String> = self.fonts.iter().map(|f| f.info().family.clone()).collect();
        set.into_iter().collect()
    }

    /// Characters of `text` that no loaded font has (whitespace and controls ignored).
    pub fn missing_chars(&self, text: &str) -> Vec<char> {
        let mut missing = BTreeSet::new();
        for c in text.chars() {
            if c.is_whitespace() || c.is_control() {
                continue;
            }
            if !self
                .fonts
                .iter()
                .any(|f| f.info().coverage.contains(u32::from(c)))
            {
                missing.insert(c);
            }
        }
        missing.into_iter().collect()
    }

    fn check_glyphs<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Result<(), PrintError> {
        let mut missing = BTreeSet::new();
        for t in texts {
            missing.extend(self.missing_chars(t));
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(PrintError::MissingGlyphs {
                chars: missing
                    .iter()
                    .map(|c| format!("“{c}”(U+{:04X})", u32::from(*c)))
                    .collect::<Vec<_>>()
                    .join("、"),
            })
        }
    }

    /// Renders a notice to PDF bytes. Same notice, same bytes.
    pub fn render(&self, notice: &NoticeData) -> Result<Vec<u8>, PrintError> {
        self.check_glyphs(notice.texts())?;
        let data = serde_json::to_string(notice)?;
        self.compile(&notice.kind.template_file(), data, notice.issued_on)
    }

    /// Renders the monthly statistics report (`monthly_report.typ`). Same report, same bytes.
    pub fn render_report(&self, report: &report::MonthlyReport) -> Result<Vec<u8>, PrintError> {
        let value = serde_json::to_value(report)?;
        let mut texts = Vec::new();
        report::strings(&value, &mut texts);
        self.check_glyphs(texts.iter().map(String::as_str))?;
        self.compile(report::TEMPLATE, value.to_string(), report.generated_on)
    }

    /// Renders the city's monthly report (`city_report.typ`). Same report, same bytes.
    pub fn render_city_report(&self, report: &report::CityReport) -> Result<Vec<u8>, PrintError> {
        let value = serde_json::to_value(report)?;
        let mut texts = Vec::new();
        report::strings(&value, &mut texts);
        self.check_glyphs(texts.iter().map(String::as_str))?;
        self.compile(
            report::CITY_TEMPLATE,
            value.to_string(),
            report.generated_on,
        )
    }

    /// Compiles `main_file` with `data` (JSON) as `sys.inputs.data` and `date` as today.
    fn compile(
        &self,
        main_file: &str,
        data: String,
        date: chrono::NaiveDate,
    ) -> Result<Vec<u8>, PrintError> {
        let main_file = main_file.to_owned();
        let world = NoticeWorld::new(self, data, &main_file, date)?;
        let warned = typst::compile::<PagedDocument>(&world);
        if let Some(w) = warned.warnings.first() {
            return Err(world.diagnostic(w));
        }
        let document = warned.output.map_err(|errors| match errors.first() {
            Some(e) => world.diagnostic(e),
            None => PrintError::Template {
                file: main_file.clone(),
                line: 0,
                message: "未知错误".to_owned(),
            },
        })?;
        // The templates' own text must be printable too.
        let sources: Vec<String> = world
            .sources
            .lock()
            .map(|s| s.values().map(|src| src.text().to_owned()).collect())
            .unwrap_or_default();
        self.check_glyphs(sources.iter().map(String::as_str))?;
        let options = typst_pdf::PdfOptions::default();
        typst_pdf::pdf(&document, &options).map_err(|errors| match errors.first() {
            Some(e) => world.diagnostic(e),
            None => PrintError::Template {
                file: main_file,
                line: 0,
                message: "PDF 生成失败".to_owned(),
            },
        })
    }

    /// Renders a notice and writes it to `out`.
    pub fn render_to(&self, notice: &NoticeData, out: &Path) -> Result<(), PrintError> {
        let pdf = self.render(notice)?;
        std::fs::write(out, pdf).map_err(|e| PrintError::Io(out.to_path_buf(), e))
    }

    /// Where a template file is found, the first of the template folders that has it.
    fn locate(&self, name: &str) -> Option<PathBuf> {
        self.template_dirs
            .iter()
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }
}

/// The typst world of one document: the templates, the fonts, and its data as `sys.inputs.data`.
struct NoticeWorld<'a> {
    printer: &'a Printer,
    library: LazyHash<Library>,
    main: FileId,
    today: Option<Datetime>,
    sources: Mutex<HashMap<FileId, Source>>,
}

impl<'a> NoticeWorld<'a> {
    fn new(
        printer: &'a Printer,
        data: String,
        main_file: &str,
        d: chrono::NaiveDate,
    ) -> Result<Self, PrintError> {
        if printer.locate(main_file).is_none() {
            return Err(PrintError::TemplateMissing {
                file: main_file.to_owned(),
                searched: printer
                    .template_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join("、"),
            });
        }
        let inputs: Dict = [(Str::from("data"), Str::from(data).into_value())]
            .into_iter()
            .collect();
        let library = Library::builder().with_inputs(inputs).build();
        let vpath = VirtualPath::new(main_file).map_err(|_| PrintError::TemplateMissing {
            file: main_file.to_owned(),
            searched: String::new(),
        })?;
        let main = RootedPath::new(VirtualRoot::Project, vpath).intern();
        Ok(NoticeWorld {
            printer,
            library: LazyHash::new(library),
            main,
            today: Datetime::from_ymd(
                d.year(),
                u8::try_from(d.month()).unwrap_or(1),
                u8::try_from(d.day()).unwrap_or(1),
            ),
            sources: Mutex::new(HashMap::new()),
        })
    }

    fn path_of(&self, id: FileId) -> FileResult<PathBuf> {
        if !matches!(id.root(), VirtualRoot::Project) {
            return Err(FileError::Other(Some(
                "文书模板不能引用外部包（package）".into(),
            )));
        }
        let name = id.vpath().get_without_slash().to_owned();
        self.printer
            .locate(&name)
            .ok_or_else(|| FileError::NotFound(PathBuf::from(name)))
    }

    /// A diagnostic as a Chinese error naming the template file and line.
    fn diagnostic(&self, d: &SourceDiagnostic) -> PrintError {
        let (file, line) = match d.span.id() {
            Some(id) => {
                let name = id.vpath().get_without_slash().to_owned();
                let line = typst::WorldExt::range(self, d.span)
                    .and_then(|r| {
                        self.source(id)
                            .ok()
                            .and_then(|s| s.lines().byte_to_line(r.start))
                    })
                    .map_or(0, |l| l + 1);
                (name, line)
            }
            None => (self.main.vpath().get_without_slash().to_owned(), 0),
        };
        let mut message = d.message.to_string();
        if message.contains("font family") {
            message.push_str(&format!(
                "（字体目录中可用的字体：{}）",
                self.printer.families().join("、")
            ));
        }
        for hint in &d.hints {
            message.push_str("；提示：");
            message.push_str(&hint.v);
        }
        PrintError::Template {
            file,
            line,
            message,
        }
    }
}

impl World for NoticeWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.printer.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if let Some(s) = self.sources.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(s);
        }
        let path = self.path_of(id)?;
        let text = std::fs::read_to_string(&path).map_err(|e| FileError::from_io(e, &path))?;
        let source = Source::new(id, text);
        if let Ok(mut m) = self.sources.lock() {
            m.insert(id, source.clone());
        }
        Ok(source)
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        let path = self.path_of(id)?;
        let data = std::fs::read(&path).map_err(|e| FileError::from_io(e, &path))?;
        Ok(Bytes::new(data))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.printer.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // The notice's own date, so a template's `datetime.today()` prints the same every time.
        self.today
    }
}
