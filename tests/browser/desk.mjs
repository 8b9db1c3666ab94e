// Drives the web desk in headless Chromium: upload a contribution through the page, see it processed on the
// dashboard with its thumbnail, waive a finding, assemble, download the bundle. Run by tests/gateway.rs:
//   node tests/browser/desk.mjs ADDR CATALOGUE TOKEN FILE [SCREENSHOT_DIR]
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import path from "node:path";

const [addr, catalogue, token, file, shots] = process.argv.slice(2);
const fail = (why) => { console.error("desk test: " + why); process.exit(1); };
if (!file) fail("usage: desk.mjs ADDR CATALOGUE TOKEN FILE [SCREENSHOT_DIR]");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => d.accept("Sent twice by mistake"));
  page.setDefaultTimeout(90_000);

  await page.goto(`http://${addr}/`);
  await page.fill("#catalogue", catalogue);
  await page.fill("#token", token);
  await page.press("#token", "Enter");
  await page.waitForFunction(() => document.querySelector("#dashboard-title").textContent !== "Catalogue");

  // Every control has a label a screen reader reads.
  const unlabelled = await page.$$eval("input:not([type=hidden]), select, button", (els) =>
    els.filter((e) => !e.hidden && !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim())
      .map((e) => e.id || e.outerHTML.slice(0, 60)));
  if (unlabelled.length) fail("controls without a label: " + unlabelled.join(", "));

  // The upload page, reached by keyboard: the metadata form, the file, the progress, the answer.
  await page.click('.tab[data-view="upload"]');
  await page.waitForSelector("#f-chapter option[value=lebanon]", { state: "attached" });
  await page.selectOption("#f-chapter", "lebanon");
  await page.fill("#f-state", "Lebanon");
  await page.fill("#f-author", "Mine Action Centre");
  await page.fill("#f-title", "Clearance in the south");
  await page.selectOption("#f-kind", "photograph");
  await page.selectOption("#f-role", "recipient");
  await page.fill("#f-received", "2012-04-02");
  // Rights left empty: a blocking finding to waive once processed.
  await page.setInputFiles("#f-files", file);
  await page.waitForSelector("#f-files-list li");
  await page.click("#send");
  await page.waitForSelector("#upload-result .ok");
  if (shots) await page.screenshot({ path: path.join(shots, "desk-upload.png"), fullPage: true });

  // The dashboard: the card shows its thumbnail once processed, and the finding.
  await page.click('.tab[data-view="dashboard"]');
  const card = page.locator("article.card", { hasText: "Clearance in the south" });
  await card.locator("img").waitFor();
  await card.getByText("rights_not_cleared", { exact: false }).or(card.locator(".finding.blocking")).first().waitFor();
  const pages = await card.textContent();
  if (!/1 page/.test(pages)) fail("the card does not show the page count: " + pages);

  // Waive the finding: the contribution is in the book.
  await card.locator(".finding.blocking input").fill("The Centre confirmed the rights by letter");
  await card.locator(".finding.blocking button").click();
  await card.getByText("in the book", { exact: true }).waitFor();
  await card.getByText("waived by", { exact: false }).waitFor();
  if (shots) await page.screenshot({ path: path.join(shots, "desk-dashboard.png"), fullPage: true });

  // Assemble (the coordinator may be assembling the same inputs: the page then says so; try again).
  let assembled = false;
  for (let i = 0; i < 60 && !assembled; i++) {
    await page.click("#assemble");
    await page.waitForFunction(() => !document.querySelector("#assemble").disabled);
    const status = await page.textContent("#status");
    assembled = /Build \d+ assembled|Nothing changed since build \d+/.test(status);
    if (!assembled) await page.waitForTimeout(1000);
  }
  if (!assembled) fail("never assembled: " + (await page.textContent("#status")));

  // Download the latest bundle: a ZIP.
  await page.waitForSelector("#download:not([disabled])");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const zip = readFileSync(await download.path());
  if (zip.length < 1000 || zip[0] !== 0x50 || zip[1] !== 0x4b) fail("the download is not a ZIP bundle");
  if (!zip.includes(Buffer.from("manifest.json"))) fail("the bundle has no manifest.json");
  if (errors.length) fail("errors in the page: " + errors.join("; "));
  console.log(`desk test: uploaded, processed, waived, assembled, downloaded ${download.suggestedFilename()} (${zip.length} bytes)`);
} finally {
  await browser.close();
}
