// Saved conversations in the chat app: a stored conversation comes back after a reload,
// listed in the sidebar and shown; it can be renamed and deleted from the sidebar. The
// stored text is untrusted, and model text holding HTML, scripts and javascript: links
// shows as text and runs nothing (while its Markdown still renders).
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile } from "./harness.mjs";

const ATTACK = [
  "Here: <img src=x onerror=\"window.__xss=1\"> <script>window.__xss=2</script>",
  "[click me](javascript:window.__xss=3) <a href=\"javascript:window.__xss=4\">or me</a>",
  "<iframe src=\"javascript:window.__xss=5\"></iframe>",
  "![pic](https://example.com/p.png)",
  "**bold** and a [real link](https://example.com/page)",
  "| a | b |\n|---|---|\n| 1 | <b>2</b> |",
  "```js\nconst x = \"<b>\" + 1;\n```",
].join("\n\n");

/** The app's page with its element mounted (the model may still be loading). */
async function openChat(page, url) {
  await page.goto(url);
  await page.locator("hearth-chat .composer").waitFor();
}

/** Waits until IndexedDB holds conversations with these titles (writes are async). */
async function storedTitles(page, titles) {
  await page.waitForFunction(
    async (want) => {
      const store = await import("/store.js");
      const have = (await store.listConversations()).map((c) => c.title).sort();
      return JSON.stringify(have) === JSON.stringify([...want].sort());
    },
    titles,
    { polling: 100, timeout: 10_000 },
  );
}

const sidebarTitles = (page) => page.locator("hearth-chat .conversations .open").allTextContents();

test("conversations are restored, renamed and deleted; their HTML stays text", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  page.on("dialog", (d) => d.accept());
  try {
    await openChat(page, server.url);
    // two stored conversations, written as the app writes them
    await page.evaluate(async (attack) => {
      const store = await import("/store.js");
      await store.putConversation({
        id: "older",
        title: "An older chat",
        messages: [{ role: "user", content: "hello" }, { role: "assistant", content: "Hi there." }],
        settings: { temperature: "0.3" },
        createdAt: 1,
        updatedAt: 1,
      });
      await store.putConversation({
        id: "attack",
        title: "<img src=x onerror=\"window.__xss=6\">",
        messages: [
          { role: "user", content: "<script>window.__xss=7</script><b onmouseover=\"window.__xss=8\">hi</b>" },
          { role: "assistant", content: attack },
        ],
        settings: { temperature: "0", max_tokens: "99" },
        createdAt: 2,
        updatedAt: 2,
      });
    }, ATTACK);

    // a reload restores the newest conversation and lists both
    await openChat(page, server.url);
    await page.locator("hearth-chat .message.assistant").waitFor();
    assert.deepEqual(await sidebarTitles(page), ['<img src=x onerror="window.__xss=6">', "An older chat"]);
    const user = page.locator("hearth-chat .message.user .body");
    assert.equal(await user.textContent(), '<script>window.__xss=7</script><b onmouseover="window.__xss=8">hi</b>');
    const answer = page.locator("hearth-chat .message.assistant .body");
    const text = await answer.textContent();
    assert.ok(text.includes('<img src=x onerror="window.__xss=1">') && text.includes("<script>window.__xss=2</script>"), text);
    // Markdown renders; markup and unsafe links do not
    assert.equal(await answer.locator("strong").textContent(), "bold");
    assert.equal(await page.locator("hearth-chat img, hearth-chat script, hearth-chat iframe, hearth-chat b").count(), 0);
    const links = await answer.locator("a").evaluateAll((as) => as.map((a) => [a.getAttribute("href"), a.target, a.rel]));
    assert.deepEqual(links, [
      ["https://example.com/p.png", "_blank", "noopener noreferrer nofollow"],
      ["https://example.com/page", "_blank", "noopener noreferrer nofollow"],
    ]);
    await answer.getByText("click me").click();
    await answer.getByText("or me", { exact: false }).click();
    await user.hover();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    // a table, and a code block whose Copy button copies its text
    assert.deepEqual(await answer.locator("table th").allTextContents(), ["a", "b"]);
    assert.deepEqual(await answer.locator("table td").allTextContents(), ["1", "<b>2</b>"]);
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await answer.getByRole("button", { name: "Copy code" }).click();
    assert.equal(await answer.getByRole("button", { name: "Copy code" }).textContent(), "Copied");
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'const x = "<b>" + 1;\n');
    // the conversation's settings came back with it
    assert.equal(await page.getByLabel("Temperature").inputValue(), "0");
    assert.equal(await page.getByLabel("Max tokens").inputValue(), "99");
    // Escape closes a panel and gives focus back to its button
    const settings = page.getByRole("button", { name: "Settings" });
    await settings.click();
    assert.equal(await settings.getAttribute("aria-expanded"), "true");
    await page.getByLabel("Temperature").press("Escape");
    assert.equal(await settings.getAttribute("aria-expanded"), "false");
    assert.ok(await page.locator("hearth-chat form.settings").isHidden());

    // the other conversation, opened from the sidebar, with its settings
    await page.locator("hearth-chat .conversations .open", { hasText: "An older chat" }).click();
    assert.deepEqual(await page.locator("hearth-chat .message .body").allTextContents(), ["hello", "Hi there."]);
    assert.equal(await page.getByLabel("Temperature").inputValue(), "0.3");

    // rename it; the new title is kept
    await page.getByRole("button", { name: "Rename “An older chat”" }).click();
    const title = page.getByLabel("Conversation title");
    await title.fill("Greetings");
    await title.press("Enter");
    await storedTitles(page, ['<img src=x onerror="window.__xss=6">', "Greetings"]);
    await openChat(page, server.url);
    await page.locator("hearth-chat .conversations .open").first().waitFor();
    assert.ok((await sidebarTitles(page)).includes("Greetings"));

    // delete the other one; it stays deleted
    await page.getByRole("button", { name: 'Delete “<img src=x onerror="window.__xss=6">”' }).click();
    assert.deepEqual(await sidebarTitles(page), ["Greetings"]);
    await storedTitles(page, ["Greetings"]);
    await openChat(page, server.url);
    await page.locator("hearth-chat .conversations .open").first().waitFor();
    assert.deepEqual(await sidebarTitles(page), ["Greetings"]);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
