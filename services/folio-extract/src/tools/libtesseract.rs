//! Tesseract 5 through its C API (`libtesseract.so.5`, the library the `tesseract` tool is built on), loaded
//! when first needed and kept for the life of the parser process. An engine initialised with a set of packs
//! reads page after page: loading a model costs 130 to 170 ms (`eng`, this project's 2-core machine), reading
//! a line of a sign 14 ms, so a warm parser process pays the load once per pack, not once per page or
//! picture as a `tesseract` process each time did. Pages are handed over as grey pixels, not as PNG files.
//!
//! Where the risk is: the library runs in the parser process, which holds no secret and reaches nothing, and
//! whose crash, memory blow-up or hang is that document's typed error (the worker's isolation, as for PDFium).
//! A reading is given the page's time left as Tesseract's own deadline; the document's time limit, which
//! kills the process, stays the backstop. The library is loaded by name (`libtesseract.so.5`, or the path in
//! [`LIBRARY_ENV`]); where it cannot be loaded, OCR is unavailable, as without the tool.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// A path to `libtesseract.so.5` other than the linker's, for a Tesseract installed elsewhere.
pub const LIBRARY_ENV: &str = "FOLIO_LIBTESSERACT";

/// Tesseract's page segmentation modes Folio uses (`TessPageSegMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segmentation {
    /// Orientation and script detection only (0).
    OsdOnly = 0,
    /// A page: its layout found automatically (3).
    Auto = 3,
    /// One line of text (7).
    Line = 7,
}

type Api = *mut c_void;
type Monitor = *mut c_void;

/// The C API's functions Folio calls (tesseract/capi.h).
struct Library {
    create: unsafe extern "C" fn() -> Api,
    delete: unsafe extern "C" fn(Api),
    init3: unsafe extern "C" fn(Api, *const c_char, *const c_char) -> c_int,
    set_variable: unsafe extern "C" fn(Api, *const c_char, *const c_char) -> c_int,
    set_page_seg_mode: unsafe extern "C" fn(Api, c_int),
    set_image: unsafe extern "C" fn(Api, *const u8, c_int, c_int, c_int, c_int),
    recognize: unsafe extern "C" fn(Api, Monitor) -> c_int,
    get_tsv_text: unsafe extern "C" fn(Api, c_int) -> *mut c_char,
    detect_orientation_script: unsafe extern "C" fn(Api, *mut c_int, *mut f32, *mut *const c_char, *mut f32) -> c_int,
    delete_text: unsafe extern "C" fn(*const c_char),
    clear: unsafe extern "C" fn(Api),
    clear_adaptive_classifier: unsafe extern "C" fn(Api),
    end: unsafe extern "C" fn(Api),
    monitor_create: unsafe extern "C" fn() -> Monitor,
    monitor_delete: unsafe extern "C" fn(Monitor),
    monitor_set_deadline_msecs: unsafe extern "C" fn(Monitor, c_int),
    /// Kept loaded as long as the functions above are used: for the life of the process.
    _loaded: libloading::Library,
}

fn library() -> Result<&'static Library, String> {
    static LIBRARY: OnceLock<Result<Library, String>> = OnceLock::new();
    LIBRARY.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Library, String> {
    let name = std::env::var_os(LIBRARY_ENV).unwrap_or_else(|| "libtesseract.so.5".into());
    // SAFETY: loading Tesseract runs its initialisers, which set up its own state only.
    let loaded = unsafe { libloading::Library::new(&name) }
        .map_err(|e| format!("cannot load {}: {e}", name.to_string_lossy()))?;
    fn function<T: Copy>(loaded: &libloading::Library, name: &str) -> Result<T, String> {
        // SAFETY: `name` is a function of the C API, declared in capi.h with the type the field gives.
        let symbol = unsafe { loaded.get::<T>(name) }.map_err(|e| format!("libtesseract has no {name}: {e}"))?;
        Ok(*symbol)
    }
    Ok(Library {
        create: function(&loaded, "TessBaseAPICreate")?,
        delete: function(&loaded, "TessBaseAPIDelete")?,
        init3: function(&loaded, "TessBaseAPIInit3")?,
        set_variable: function(&loaded, "TessBaseAPISetVariable")?,
        set_page_seg_mode: function(&loaded, "TessBaseAPISetPageSegMode")?,
        set_image: function(&loaded, "TessBaseAPISetImage")?,
        recognize: function(&loaded, "TessBaseAPIRecognize")?,
        get_tsv_text: function(&loaded, "TessBaseAPIGetTsvText")?,
        detect_orientation_script: function(&loaded, "TessBaseAPIDetectOrientationScript")?,
        delete_text: function(&loaded, "TessDeleteText")?,
        clear: function(&loaded, "TessBaseAPIClear")?,
        clear_adaptive_classifier: function(&loaded, "TessBaseAPIClearAdaptiveClassifier")?,
        end: function(&loaded, "TessBaseAPIEnd")?,
        monitor_create: function(&loaded, "TessMonitorCreate")?,
        monitor_delete: function(&loaded, "TessMonitorDelete")?,
        monitor_set_deadline_msecs: function(&loaded, "TessMonitorSetDeadlineMSecs")?,
        _loaded: loaded,
    })
}

/// An engine initialised with one set of packs (`eng`, `chi_sim+eng`, `osd`).
struct Engine {
    api: Api,
    packs: String,
}

// SAFETY: a TessBaseAPI may move between threads; it is used by one at a time (taken out of the cache).
unsafe impl Send for Engine {}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Ok(lib) = library() {
            // SAFETY: `api` came from TessBaseAPICreate and is dropped once.
            unsafe {
                (lib.end)(self.api);
                (lib.delete)(self.api);
            }
        }
    }
}

/// Engines kept after use, the most recently used last; at most [`KEPT_ENGINES`]. A Chinese document after
/// English ones keeps both models loaded, a long mix of languages replaces the least recent.
static KEPT: Mutex<Vec<Engine>> = Mutex::new(Vec::new());
/// Engines kept: OSD, the Latin pack, and two more (a script's pack, the language's pack a reading named).
const KEPT_ENGINES: usize = 4;

/// Packs whose engine a [`prepare`] thread is loading now: a reading that wants one waits for it
/// ([`PREPARED`]) instead of loading a second.
static PREPARING: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Told when a [`prepare`] thread is done with a set of packs (kept, or failed).
static PREPARED: Condvar = Condvar::new();

/// A kept engine for `packs`, taken out of the cache.
fn take_kept(packs: &str) -> Option<Engine> {
    let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    let at = kept.iter().rposition(|e| e.packs == packs)?;
    Some(kept.remove(at))
}

/// Loads the engines for each set of `packs` in turn, on a thread of their own, unless kept or being loaded
/// already: what the parser calls when a document may be OCRed (an image, a page without text), so that the
/// model loads (130 to 170 ms for `eng` on this project's machine) while the document is decoded, rendered
/// and looked at, not after. A reading that wants one of them waits for its load rather than making another.
/// Nothing happens where the library cannot be loaded.
pub(crate) fn prepare(packs: &[&str]) {
    if library().is_err() {
        return;
    }
    let wanted: Vec<String> = {
        let kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        let mut preparing = PREPARING.lock().unwrap_or_else(|p| p.into_inner());
        let wanted: Vec<String> = packs
            .iter()
            .filter(|p| !kept.iter().any(|e| e.packs == **p) && !preparing.iter().any(|q| q == *p))
            .map(|p| p.to_string())
            .collect();
        preparing.extend(wanted.iter().cloned());
        wanted
    };
    if wanted.is_empty() {
        return;
    }
    /// The packs still to load: each taken off [`PREPARING`] once its engine is kept (or failed), and the
    /// rest however the thread ends (a panic in a load included), so that no reading waits for a load that
    /// will not come.
    struct Loading(Vec<String>);
    impl Loading {
        fn done(&mut self, packs: &str) {
            self.0.retain(|p| p != packs);
            let mut preparing = PREPARING.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = preparing.iter().position(|p| p == packs) {
                preparing.remove(at);
            }
            PREPARED.notify_all();
        }
    }
    impl Drop for Loading {
        fn drop(&mut self) {
            for packs in std::mem::take(&mut self.0) {
                self.done(&packs);
            }
        }
    }
    let mut loading = Loading(wanted);
    let started = std::thread::Builder::new().name("ocr-engines".into()).spawn(move || {
        for packs in loading.0.clone() {
            match make(&packs) {
                Ok(engine) => keep(engine),
                Err(why) => tracing::debug!("OCR engine for {packs} not loaded ahead: {why}"),
            }
            loading.done(&packs);
        }
    });
    // Without a thread (the process's limit), the readings load their engines themselves: `loading` was
    // dropped with the closure.
    if let Err(why) = started {
        tracing::debug!("no thread to load OCR engines ahead: {why}");
    }
}

/// An engine for `packs`: a kept one, one a [`prepare`] thread is loading, or one initialised now (the
/// model's load).
fn engine(packs: &str) -> Result<Engine, String> {
    library()?;
    if let Some(engine) = take_kept(packs) {
        return Ok(engine);
    }
    {
        let mut preparing = PREPARING.lock().unwrap_or_else(|p| p.into_inner());
        while preparing.iter().any(|p| p == packs) {
            preparing = PREPARED.wait(preparing).unwrap_or_else(|p| p.into_inner());
        }
    }
    if let Some(engine) = take_kept(packs) {
        return Ok(engine);
    }
    make(packs)
}

/// The packs of each engine made, in order (for the tests: a model loaded once, not twice).
#[cfg(test)]
static MADE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A new engine for `packs`: the model's load.
fn make(packs: &str) -> Result<Engine, String> {
    let lib = library()?;
    #[cfg(test)]
    MADE.lock().unwrap_or_else(|p| p.into_inner()).push(packs.to_string());
    let wanted = CString::new(packs).map_err(|_| format!("a pack name with a NUL: {packs:?}"))?;
    // One engine made at a time: `debug_file` below is one of Tesseract's global settings, and extraction in
    // one process (`folio extract --in-process --jobs N`, the extractor's tests) reads files on several threads.
    static MAKING: Mutex<()> = Mutex::new(());
    let _making = MAKING.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: a new engine; Init3 reads the packs' traineddata from Tesseract's own data folder (NULL: the
    // one it was built with, or TESSDATA_PREFIX).
    let engine = Engine { api: unsafe { (lib.create)() }, packs: packs.to_string() };
    if engine.api.is_null() {
        return Err("libtesseract made no engine".into());
    }
    if unsafe { (lib.init3)(engine.api, std::ptr::null(), wanted.as_ptr()) } != 0 {
        return Err(format!("tesseract could not load the packs {packs}"));
    }
    // Its messages (resolution estimates, warnings) nowhere: a warm parser's stdout is its answer, and its
    // stderr is kept to tell why it died.
    // SAFETY: both are NUL-terminated; the engine is initialised.
    unsafe { (lib.set_variable)(engine.api, c"debug_file".as_ptr(), c"/dev/null".as_ptr()) };
    Ok(engine)
}

/// Keeps `engine` for the next reading with its packs, its last image and results let go, and what its
/// classifier adapted to on this one (the legacy engine learns shapes from a page as it reads it): each
/// reading starts as a new process's did, whatever was read before it.
fn keep(engine: Engine) {
    if let Ok(lib) = library() {
        // SAFETY: the engine is ours alone until it is in the cache.
        unsafe {
            (lib.clear)(engine.api);
            (lib.clear_adaptive_classifier)(engine.api);
        }
    }
    let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    kept.push(engine);
    if kept.len() > KEPT_ENGINES {
        // The least recently used goes (dropped outside any other engine's use).
        kept.remove(0);
    }
}

/// Text Tesseract allocated, copied out and freed.
fn take_text(lib: &Library, text: *mut c_char) -> Option<String> {
    if text.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string Tesseract allocated for us, freed with its own function once copied.
    let copied = unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned();
    unsafe { (lib.delete_text)(text) };
    Some(copied)
}

/// Hands `image` (8-bit grey) to the engine.
fn set_image(lib: &Library, engine: &Engine, image: &image::GrayImage) -> Result<(), String> {
    let (w, h) = (c_int::try_from(image.width()), c_int::try_from(image.height()));
    let (Ok(w), Ok(h)) = (w, h) else { return Err("an image too large for tesseract".into()) };
    // SAFETY: the buffer holds w x h bytes, one a pixel, rows of w bytes; Tesseract copies it.
    unsafe { (lib.set_image)(engine.api, image.as_raw().as_ptr(), w, h, 1, w) };
    Ok(())
}

/// The header of Tesseract's TSV, as its command-line tool writes it before the rows.
const TSV_HEADER: &str =
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n";

/// Recognises `pages` with `packs` as `segmentation` says, each within what is left of `timeout`, and
/// returns the TSV of all (page numbers from 1), as `tesseract ... tsv` writes it.
pub(crate) fn recognise_tsv(
    pages: &[&image::GrayImage],
    packs: &str,
    segmentation: Segmentation,
    timeout: Duration,
) -> Result<String, String> {
    let lib = library()?;
    let started = std::time::Instant::now();
    let engine = engine(packs)?;
    let mut tsv = String::from(TSV_HEADER);
    for (n, page) in pages.iter().enumerate() {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err("OCR time limit".into());
        }
        set_image(lib, &engine, page)?;
        // SAFETY: the engine is ours; the monitor lives until the reading returns, then is freed.
        let read = unsafe {
            (lib.set_page_seg_mode)(engine.api, segmentation as c_int);
            let monitor = (lib.monitor_create)();
            if !monitor.is_null() {
                (lib.monitor_set_deadline_msecs)(monitor, c_int::try_from(left.as_millis()).unwrap_or(c_int::MAX));
            }
            let read = (lib.recognize)(engine.api, monitor);
            if !monitor.is_null() {
                (lib.monitor_delete)(monitor);
            }
            read
        };
        if started.elapsed() >= timeout {
            return Err("OCR time limit".into());
        }
        if read != 0 {
            return Err(format!("tesseract could not read the image ({packs})"));
        }
        let page_number = c_int::try_from(n).unwrap_or(c_int::MAX);
        // SAFETY: after a reading, the TSV of its results.
        if let Some(rows) = take_text(lib, unsafe { (lib.get_tsv_text)(engine.api, page_number) }) {
            tsv.push_str(&rows);
        }
    }
    keep(engine);
    Ok(tsv)
}

/// What Tesseract's orientation and script detection found on a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Orientation {
    /// How far the page's text is turned, counter-clockwise: 0, 90, 180 or 270 (the tool's "Orientation in
    /// degrees").
    pub degrees: i32,
    /// The detection's confidence in that orientation (the tool's "Orientation confidence").
    pub confidence: f32,
    /// The script: `Latin`, `Han`, `Japanese`, `Hangul`, `Arabic`, `Cyrillic`, ...
    pub script: String,
}

/// Tesseract's orientation and script detection on `page` (what `tesseract page - --psm 0 -l osd` reports):
/// `None` when there is too little text to tell.
pub(crate) fn osd(page: &image::GrayImage) -> Result<Option<Orientation>, String> {
    let lib = library()?;
    let engine = engine("osd")?;
    set_image(lib, &engine, page)?;
    let (mut degrees, mut confidence, mut script, mut script_confidence) = (0, 0.0f32, std::ptr::null(), 0.0f32);
    // SAFETY: the engine is ours and holds the image; the outputs are ours to write; the script's name is a
    // static string of Tesseract's.
    let found = unsafe {
        (lib.set_page_seg_mode)(engine.api, Segmentation::OsdOnly as c_int);
        (lib.detect_orientation_script)(engine.api, &mut degrees, &mut confidence, &mut script, &mut script_confidence)
    };
    let orientation = (found != 0 && !script.is_null()).then(|| Orientation {
        degrees,
        confidence,
        // SAFETY: a NUL-terminated name Tesseract keeps.
        script: unsafe { CStr::from_ptr(script) }.to_string_lossy().into_owned(),
    });
    keep(engine);
    Ok(orientation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed() -> bool {
        match engine("eng") {
            Ok(engine) => {
                keep(engine);
                true
            }
            Err(why) => panic!("libtesseract with the eng pack is needed (scripts/setup installs it): {why}"),
        }
    }

    #[test]
    fn an_engine_is_kept_and_reused_and_the_cache_is_bounded() {
        assert!(installed());
        // Several packs in turn: never more engines kept than the bound.
        for packs in ["eng", "osd", "eng", "eng+osd", "osd", "eng"] {
            keep(engine(packs).unwrap());
        }
        let kept = KEPT.lock().unwrap();
        assert!(kept.len() <= KEPT_ENGINES);
        assert_eq!(kept.last().map(|e| e.packs.as_str()), Some("eng"), "the most recent is last");
    }

    #[test]
    fn an_engine_loaded_ahead_is_the_one_the_reading_gets_and_its_model_loads_once() {
        assert!(installed());
        // A set of packs no other test uses.
        let packs = "osd+eng";
        let made = || MADE.lock().unwrap().iter().filter(|p| *p == packs).count();
        prepare(&[packs]);
        assert!(PREPARING.lock().unwrap().iter().any(|p| p == packs), "loading on its own thread");
        prepare(&[packs]);
        // The reading waits for the load under way instead of loading the model a second time.
        let blank = image::GrayImage::from_pixel(200, 60, image::Luma([255]));
        recognise_tsv(&[&blank], packs, Segmentation::Line, Duration::from_secs(10)).unwrap();
        assert_eq!(made(), 1, "loaded once: {:?}", MADE.lock().unwrap());
        assert!(!PREPARING.lock().unwrap().iter().any(|p| p == packs));
        // A pack that is not installed: the load fails on its thread, and a reading is told, not kept waiting.
        prepare(&["no_such_pack_either"]);
        assert!(recognise_tsv(&[&blank], "no_such_pack_either", Segmentation::Line, Duration::from_secs(10)).is_err());
    }

    #[test]
    fn a_blank_image_reads_as_no_confident_word_and_a_missing_pack_is_an_error() {
        assert!(installed());
        let blank = image::GrayImage::from_pixel(200, 60, image::Luma([255]));
        let tsv = recognise_tsv(&[&blank], "eng", Segmentation::Line, Duration::from_secs(10)).unwrap();
        assert!(tsv.starts_with(TSV_HEADER));
        // Told it holds one line, Tesseract may force a "word" out of a blank image, never with confidence.
        let confidences = tsv.lines().filter(|l| l.starts_with("5\t")).filter_map(|l| l.split('\t').nth(10));
        assert!(confidences.map(|c| c.parse::<f64>().unwrap()).all(|c| c < 50.0), "{tsv}");
        let missing = recognise_tsv(&[&blank], "no_such_pack", Segmentation::Line, Duration::from_secs(10));
        assert!(missing.is_err());
        assert!(osd(&blank).unwrap().is_none(), "OSD has nothing to tell on a blank image");
    }
}
