//! OCR of scanned PDF pages: each page without a usable text layer is rendered at 300 dpi (less when that
//! would exceed `max_ocr_pixels`) with PDFium when the document is open in it, else with pdftoppm, and
//! recognised (see [`crate::ocr`]). A page that cannot
//! be rendered or recognised keeps its text layer; it never fails the document.

use crate::{ocr, tools::pdftoppm, Limits};
use image::GrayImage;
use lopdf::{Document, Object, ObjectId};
use pdfium_render::prelude::PdfDocument;
use std::collections::BTreeMap;

/// Print resolution: Tesseract is trained on text at about 300 dpi.
const OCR_DPI: f64 = 300.0;
/// The page size assumed when a page has no readable MediaBox: US Letter, in points.
const DEFAULT_PAGE_PT: (f64, f64) = (612.0, 792.0);

/// OCR the pages `wanted` (1-based) of the PDF `bytes`; returns a result for each page that was recognised.
/// Pages are rendered by PDFium when `pdfium` (the same file, open in PDFium) is given.
pub(crate) fn ocr_pages(
    bytes: &[u8],
    doc: &Document,
    pages: &BTreeMap<u32, ObjectId>,
    wanted: &[u32],
    limits: &Limits,
    pdfium: Option<&PdfDocument>,
) -> Vec<(u32, ocr::PageOcr)> {
    if let Some(pdfium) = pdfium {
        return ocr_pages_pdfium(pdfium, wanted, limits);
    }
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            tracing::warn!("no OCR of PDF pages: temporary directory: {e}");
            return Vec::new();
        }
    };
    let input = dir.path().join("in.pdf");
    if let Err(e) = std::fs::write(&input, bytes) {
        tracing::warn!("no OCR of PDF pages: writing temporary PDF: {e}");
        return Vec::new();
    }
    let mut results = Vec::new();
    for &number in wanted {
        let size = pages.get(&number).and_then(|id| media_box(doc, *id)).unwrap_or(DEFAULT_PAGE_PT);
        let dpi = dpi_within(size, limits.max_ocr_pixels);
        let page = pdftoppm::pdf_page_png_for_ocr(&input, number, dpi, dir.path(), limits.render_timeout)
            .and_then(|png| crate::raster::decode(&png, limits, false).map_err(|e| e.to_string()))
            .and_then(|img| ocr::recognise(&img, limits));
        match page {
            Ok(found) => results.push((number, found)),
            Err(why) => tracing::warn!("page {number}: not OCRed: {why}"),
        }
    }
    results
}

/// [`ocr_pages`] with PDFium rendering: in process, no temporary files. The page size (as displayed, after
/// /Rotate) comes from PDFium too, so the pixel bound holds for rotated pages.
fn ocr_pages_pdfium(doc: &PdfDocument, wanted: &[u32], limits: &Limits) -> Vec<(u32, ocr::PageOcr)> {
    let mut results = Vec::new();
    for &number in wanted {
        match ocr_region(doc, number, WHOLE_PAGE, limits) {
            Ok(Some(found)) => results.push((number, found)),
            // Nothing on the page could be text (a blank or flat page): judged, found empty.
            Ok(None) => results.push((number, ocr::PageOcr::nothing())),
            Err(why) => tracing::warn!("page {number}: not OCRed: {why}"),
        }
    }
    results
}

/// The whole page, as a region for [`ocr_region`].
pub(crate) const WHOLE_PAGE: [f64; 4] = [0.0, 0.0, 1.0, 1.0];

/// OCR of a region of page `number` (1-based) rendered by PDFium at up to 300 dpi: `[left, top, right,
/// bottom]` as fractions of the page as displayed. `Ok(None)` when the region could not hold text (too
/// small, one flat colour, no row of letter-like marks; see [`ocr::could_hold_text`] and
/// [`ocr::textlines`]), so no OCR ran.
pub(crate) fn ocr_region(
    doc: &PdfDocument,
    number: u32,
    region: [f64; 4],
    limits: &Limits,
) -> Result<Option<ocr::PageOcr>, String> {
    ocr_of(&render_for_ocr(doc, number, limits)?, region, limits)
}

/// Page `number` (1-based) rendered by PDFium in grey at up to 300 dpi, within `max_ocr_pixels`: what
/// [`ocr_of`] reads regions of (a page whose several pictures are read is rendered once).
pub(crate) fn render_for_ocr(doc: &PdfDocument, number: u32, limits: &Limits) -> Result<GrayImage, String> {
    let index = number.saturating_sub(1);
    let size = crate::pdf::pdfium::page_size(doc, index).unwrap_or(DEFAULT_PAGE_PT);
    let dpi = f64::from(dpi_within(size, limits.max_ocr_pixels));
    let (w, h) = (px_at(size.0, dpi), px_at(size.1, dpi));
    crate::pdf::pdfium::render_gray(doc, index, w, h).map_err(|e| e.to_string())
}

/// OCR of a region of a rendered page (see [`ocr_region`]).
pub(crate) fn ocr_of(
    page: &GrayImage,
    [left, top, right, bottom]: [f64; 4],
    limits: &Limits,
) -> Result<Option<ocr::PageOcr>, String> {
    let (w, h) = (page.width(), page.height());
    let at = |f: f64, side: u32| ((f.clamp(0.0, 1.0) * f64::from(side)).round() as u32).min(side);
    let (x0, y0, x1, y1) = (at(left, w), at(top, h), at(right, w), at(bottom, h));
    let region = image::imageops::crop_imm(page, x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0)).to_image();
    let img = image::DynamicImage::ImageLuma8(region);
    if !ocr::could_hold_text(&img) || !ocr::textlines::likely_text(&img) {
        return Ok(None);
    }
    ocr::recognise(&img, limits).map(Some)
}

/// Pixels for `points` at `dpi`; rounded down so the product stays within the bound `dpi` was chosen for.
fn px_at(points: f64, dpi: f64) -> u32 {
    ((points.abs().max(1.0) / 72.0 * dpi).floor() as u32).max(1)
}

/// Whether a page draws a raster image: an image XObject in its resources (or in those of a form it
/// uses, one level down), or an inline image. A scan always does; a blank page, or one of vector art and
/// forms, does not, and rendering it for OCR would cost time (hostile pages can take pdftoppm to its
/// time limit) for nothing. The look is bounded: no recursion into nested forms.
pub(crate) fn draws_image(doc: &Document, page: ObjectId) -> bool {
    let Ok((direct, inherited)) = doc.get_page_resources(page) else { return false };
    let mut resources: Vec<&lopdf::Dictionary> = direct.into_iter().collect();
    resources.extend(inherited.iter().filter_map(|id| doc.get_dictionary(*id).ok()));
    let images_in = |res: &lopdf::Dictionary, forms: &mut Vec<lopdf::Dictionary>| -> bool {
        let Some(xobjects) = res.get(b"XObject").ok().and_then(|o| resolve(doc, o).as_dict().ok()) else {
            return false;
        };
        let mut found = false;
        for (_, obj) in xobjects.iter() {
            let Ok(stream) = resolve(doc, obj).as_stream() else { continue };
            match stream.dict.get(b"Subtype").and_then(Object::as_name) {
                Ok(b"Image") => found = true,
                Ok(b"Form") => {
                    if let Some(r) = stream.dict.get(b"Resources").ok().and_then(|o| resolve(doc, o).as_dict().ok()) {
                        forms.push(r.clone());
                    }
                }
                _ => {}
            }
        }
        found
    };
    let mut forms = Vec::new();
    if resources.iter().any(|res| images_in(res, &mut forms)) {
        return true;
    }
    if forms.iter().any(|res| images_in(res, &mut Vec::new())) {
        return true;
    }
    doc.get_page_content(page).is_ok_and(|c| {
        c.windows(4).any(|w| w[0].is_ascii_whitespace() && &w[1..3] == b"BI" && w[3].is_ascii_whitespace())
    })
}

fn resolve<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    match obj {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(obj),
        other => other,
    }
}

/// The resolution for a page of `size` points: [`OCR_DPI`], lowered so the image stays within `max_pixels`
/// (OCR downscales anything larger anyway; rendering it smaller saves the time and memory).
fn dpi_within(size: (f64, f64), max_pixels: u64) -> u32 {
    let (w, h) = (size.0.abs().max(1.0) / 72.0, size.1.abs().max(1.0) / 72.0);
    let pixels = w * OCR_DPI * h * OCR_DPI;
    let dpi = if pixels > max_pixels as f64 { OCR_DPI * (max_pixels as f64 / pixels).sqrt() } else { OCR_DPI };
    (dpi.floor() as u32).clamp(1, OCR_DPI as u32)
}

/// Width and height in points of a page's MediaBox, inherited from its ancestors when absent. The walk up
/// the Parent chain is bounded, so a loop in a hostile page tree ends it.
fn media_box(doc: &Document, page: ObjectId) -> Option<(f64, f64)> {
    let mut id = page;
    for _ in 0..32 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(obj) = dict.get(b"MediaBox") {
            let obj = match obj {
                Object::Reference(r) => doc.get_object(*r).ok()?,
                other => other,
            };
            let nums: Vec<f64> = obj.as_array().ok()?.iter().filter_map(number).collect();
            let [x0, y0, x1, y1] = nums[..] else { return None };
            return Some(((x1 - x0).abs(), (y1 - y0).abs()));
        }
        id = dict.get(b"Parent").ok()?.as_reference().ok()?;
    }
    None
}

fn number(obj: &Object) -> Option<f64> {
    match obj {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_respects_the_pixel_bound() {
        assert_eq!(dpi_within((612.0, 792.0), 40_000_000), 300);
        // A poster (A0, 2384 × 3370 pt) at 300 dpi is 139 million pixels.
        let dpi = dpi_within((2384.0, 3370.0), 40_000_000);
        assert!(dpi < 300 && dpi > 100, "{dpi}");
        let px = (2384.0 / 72.0 * f64::from(dpi)) * (3370.0 / 72.0 * f64::from(dpi));
        assert!(px <= 40_000_000.0);
    }
}
