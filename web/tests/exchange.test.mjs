// Conversations out of and into the chat app (issue 13): a JSON file of conversations
// (one unreadable record among them) imported from the sidebar; the sidebar's search
// finds them by title and by message text; Export Markdown gives the one on screen as
// Markdown, Export JSON every saved one, which imported again adds nothing; the imported
// conversations are in IndexedDB after a reload. HTML in an imported message stays text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, browser, newProfile, dropProfile } from "./harness.mjs";

const RECORDS = [
  {
    id: "keeper",
    title: "The lighthouse keeper",
    model: "https://example.com/m.gguf",
    messages: [
      { role: "user", content: "Who keeps the *light*?" },
      { role: "assistant", content: "A **keeper**, every night.\n\n```\nlamp.on()\n```" },
    ],
    settings: { system: "", temperature: "0.2" },
    createdAt: 10,
    updatedAt: 20,
  },
  {
    id: "html",
    title: "Markup",
    messages: [
      { role: "user", content: "<img src=x onerror=\"window.__xss=1\"> about tides" },
      { role: "assistant", content: "Tides follow the moon." },
    ],
    createdAt: 5,
    updatedAt: 6,
  },
  { id: 7, messages: "not a list" },
];

const titles = (page) => page.locator("hearth-chat .conversations .open").allTextContents();
const notice = (page) => page.locator("hearth-chat .notice").textContent();

test("conversations import, search and export", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-exchange-"));
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(server.url);
    await page.locator("hearth-chat .composer").waitFor();
    const file = join(dir, "in.json");
    writeFileSync(file, JSON.stringify(RECORDS));
    await page.getByLabel("Import conversations").setInputFiles(file);
    await page.waitForFunction(() => /^Imported/.test(document.querySelector("hearth-chat").shadowRoot.querySelector(".notice").textContent));
    assert.equal(await notice(page), "Imported 2 conversations; 1 could not be read and were left out.");
    assert.deepEqual(await titles(page), ["The lighthouse keeper", "Markup"]);

    // search: by title, by message text, every word, letter case aside
    const search = page.getByLabel("Search conversations");
    for (const [q, want] of [["LIGHTHOUSE", ["The lighthouse keeper"]], ["moon", ["Markup"]], ["tides moon", ["Markup"]], ["keeper moon", []], ["", ["The lighthouse keeper", "Markup"]]]) {
      await search.fill(q);
      assert.deepEqual(await titles(page), want, `search ${JSON.stringify(q)}`);
    }
    await search.fill("zzz");
    assert.equal(await page.locator("hearth-chat .conversations .empty").textContent(), "No conversation matches.");
    await search.fill("");

    // the imported HTML is text
    await page.getByRole("button", { name: "Markup", exact: true }).click();
    await page.locator("hearth-chat .message.user .body").first().waitFor();
    assert.equal(await page.locator("hearth-chat .message.user .body").first().textContent(), RECORDS[1].messages[0].content);
    assert.equal(await page.evaluate(() => window.__xss), undefined);

    // Export Markdown: the conversation on screen
    await page.getByRole("button", { name: "The lighthouse keeper", exact: true }).click();
    const [md] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export this conversation as Markdown" }).click()]);
    assert.equal(md.suggestedFilename(), "The-lighthouse-keeper.md");
    const mdText = readFileSync(await md.path(), "utf8");
    assert.equal(
      mdText,
      "# The lighthouse keeper\n\n**You:**\n\n> Who keeps the \\*light\\*?\n\n**hearth:**\n\nA **keeper**, every night.\n\n```\nlamp.on()\n```\n\n",
    );

    // Export JSON: every conversation, which imported again adds nothing
    const [js] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export all as JSON" }).click()]);
    const exported = JSON.parse(readFileSync(await js.path(), "utf8"));
    assert.equal(exported.format, "hearth-conversations");
    assert.equal(exported.version, 1);
    assert.deepEqual(
      exported.conversations.map((c) => [c.id, c.title, c.messages]),
      [RECORDS[0], RECORDS[1]].map((c) => [c.id, c.title, c.messages]),
    );
    const again = join(dir, "again.json");
    writeFileSync(again, JSON.stringify(exported));
    await page.getByLabel("Import conversations").setInputFiles(again);
    await page.waitForFunction(() => /^Imported 0/.test(document.querySelector("hearth-chat").shadowRoot.querySelector(".notice").textContent));
    assert.deepEqual(await titles(page), ["The lighthouse keeper", "Markup"]);

    // a file that is no JSON: a clear line, nothing changed
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "<html>");
    await page.getByLabel("Import conversations").setInputFiles(bad);
    await page.waitForFunction(() => /^Nothing was imported/.test(document.querySelector("hearth-chat").shadowRoot.querySelector(".notice").textContent));
    assert.match(await notice(page), /^Nothing was imported: the file is not JSON/);

    // stored: a reload lists them
    await page.reload();
    await page.locator("hearth-chat .conversations .open").first().waitFor();
    assert.deepEqual((await titles(page)).sort(), ["Markup", "The lighthouse keeper"]);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
    rmSync(dir, { recursive: true, force: true });
  }
});
