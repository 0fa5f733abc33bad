/**
 * The Swagger UI at /swagger, driven in a real (headless) Chromium.
 *
 * Checks what only a browser can: the page is self-contained (every request it
 * makes goes to the gateway's own origin, nothing to a CDN), it renders every
 * operation, and "Try it out" sends a real OTP through the gateway.
 *
 * Needs Debian's chromium at /usr/bin/chromium (CI installs it). Never run
 * `playwright install`: playwright-core drives that system binary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type App, createApp } from "../../src/app";
import { must } from "../support/given";
import { captureLogger, consoleProvider, testDeps } from "../support/harness";
import { portOf } from "../support/socket";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/**
 * Per Playwright action or wait, kept well below TEST_TIMEOUT_MS so that a stuck
 * step fails with its own message. Passing, the whole file takes about 4 s.
 */
const STEP_TIMEOUT_MS = 5_000;
/**
 * Per test and hook. Set here because bun's default is 5 s and bunfig.toml's
 * `[test] timeout` is not a setting bun reads (only `bun test --timeout` is).
 */
const TEST_TIMEOUT_MS = 15_000;
const PHONE = "+919876543210";

const OPERATIONS = [
  { method: "POST", path: "/v1/otp/send" },
  { method: "POST", path: "/v1/otp/verify" },
  { method: "GET", path: "/v1/otp/{verificationId}" },
  { method: "DELETE", path: "/v1/otp/{verificationId}" },
  { method: "GET", path: "/healthz" },
  { method: "GET", path: "/readyz" },
] as const;

const { logger, lines } = captureLogger();
let app: App | undefined;
let browser: Browser | undefined;
let origin = "";

/** Everything a browser context did on the network and in its console. */
interface Traffic {
  requests: string[];
  failed: string[];
  errors: string[];
}

/** A fresh context and page on /swagger that records its traffic, ready once the operations render. */
async function openSwagger(): Promise<{ context: BrowserContext; page: Page; traffic: Traffic }> {
  if (!browser) throw new Error("Chromium did not start; see the beforeAll error above.");
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const traffic: Traffic = { requests: [], failed: [], errors: [] };
  // On the context, not the page: this also sees workers and any popup.
  context.on("request", (request) => traffic.requests.push(`${request.method()} ${request.url()}`));
  context.on("requestfailed", (request) =>
    traffic.failed.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
  );
  context.on("response", (response) => {
    if (response.status() >= 400) {
      traffic.failed.push(`${response.request().method()} ${response.url()}: HTTP ${response.status()}`);
    }
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => traffic.errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    traffic.errors.push(`console error: ${message.text()} (at ${message.location().url || "?"})`);
  });

  const response = await page.goto(`${origin}/swagger`);
  expect(response?.status(), "GET /swagger").toBe(200);
  await page.locator("#swagger-ui .opblock").first().waitFor({ state: "visible" });
  return { context, page, traffic };
}

/** The operation block whose summary shows this method and path. */
function operation(page: Page, method: string, path: string) {
  return page.locator(`.opblock.opblock-${method.toLowerCase()}`, {
    has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
  });
}

/** Opens send, with try-it-out on, and executes it for `phone`: the gateway's answer to the request Swagger UI made. */
async function executeSend(page: Page, phone: string) {
  const send = operation(page, "POST", "/v1/otp/send");
  if (!(await send.locator(".opblock-body").isVisible()))
    await send.locator(".opblock-summary-control").click();
  // The page enables try-it-out by default (tryItOutEnabled), so the button may already read "Cancel".
  const tryItOut = send.locator("button.try-out__btn", { hasText: "Try it out" });
  if (await tryItOut.isVisible()) await tryItOut.click();
  await send.locator("button.try-out__btn", { hasText: "Cancel" }).waitFor({ state: "visible" });
  const body = send.locator(".opblock-section-request-body textarea");
  await body.waitFor({ state: "visible" }).catch((error) => {
    throw new Error(
      `no editable request body for POST /v1/otp/send: is its requestBody.content in /swagger/json empty? (${error.message})`,
    );
  });
  await body.fill(JSON.stringify({ phone }));
  const answered = page.waitForResponse(
    (response) => response.url() === `${origin}/v1/otp/send` && response.request().method() === "POST",
  );
  await send.getByRole("button", { name: "Execute" }).click();
  return { send, response: await answered };
}

/** Every request stayed on the gateway's origin, none failed, and the console stayed clean. */
function expectStayedOnGateway(traffic: Traffic) {
  expect(traffic.requests.length, "the page made no requests at all?").toBeGreaterThan(0);
  const offsite = traffic.requests.filter(
    (request) => new URL(request.slice(request.indexOf(" ") + 1)).origin !== origin,
  );
  expect(
    offsite,
    `requests that left the gateway (${origin}); all requests:\n${traffic.requests.join("\n")}`,
  ).toEqual([]);
  expect(traffic.failed, "failed requests").toEqual([]);
  expect(traffic.errors, "errors in the page").toEqual([]);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    // A failure, not a skip: CI installs chromium, so its absence is a broken environment.
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium). Do not run \`playwright install\`.`,
    );
  }
  app = createApp(testDeps(consoleProvider(logger), logger)).listen({
    port: 0,
    hostname: "127.0.0.1",
  });
  origin = `http://127.0.0.1:${portOf(app)}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: STEP_TIMEOUT_MS,
  });
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await app?.stop(true);
}, TEST_TIMEOUT_MS);

describe("the Swagger UI at /swagger in Chromium", () => {
  test(
    "renders every operation with no request leaving the gateway's host",
    async () => {
      const { context, page, traffic } = await openSwagger();
      try {
        for (const { method, path } of OPERATIONS) {
          const block = operation(page, method, path);
          await block.waitFor({ state: "visible" });
          expect(await block.locator(".opblock-summary-method").innerText(), `method shown for ${path}`).toBe(
            method,
          );
        }
        expect(await page.locator("#swagger-ui .opblock").count(), "operations rendered").toBe(
          OPERATIONS.length,
        );

        // The UI itself, its stylesheet and the document all came from the gateway.
        for (const path of [
          "/swagger",
          "/swagger/assets/swagger-ui.css",
          "/swagger/assets/swagger-ui-bundle.js",
          "/swagger/json",
        ]) {
          expect(traffic.requests, `the page should have loaded ${path}`).toContain(`GET ${origin}${path}`);
        }
        expectStayedOnGateway(traffic);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "shows a rate-limit problem as the 429 example and an Authorize button for caller keys",
    async () => {
      const { context, page, traffic } = await openSwagger();
      try {
        await page.locator(".auth-wrapper button.authorize").waitFor({ state: "visible" });
        const send = operation(page, "POST", "/v1/otp/send");
        await send.locator(".opblock-summary-control").click();
        const limited = send.locator("tr.response[data-code='429']");
        await limited.waitFor({ state: "visible" });
        const example = await limited.locator(".response-col_description pre").first().innerText();
        expect(JSON.parse(example), "the 429 example").toMatchObject({ status: 429, code: "RATE_LIMITED" });
        const invalid = await send
          .locator("tr.response[data-code='400'] .response-col_description pre")
          .first()
          .innerText();
        expect(JSON.parse(invalid).status, "a status is a number, not a string").toBe(400);
        await page.locator(".auth-wrapper button.authorize").click();
        await page.locator(".modal-ux").getByText("callerKey").waitFor({ state: "visible" });
        expectStayedOnGateway(traffic);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "'Try it out' on send gets a 200 with a verificationId, and the console provider logs its code",
    async () => {
      const { context, page, traffic } = await openSwagger();
      try {
        const { send, response } = await executeSend(page, PHONE);
        expect(response.request().postData(), "the body Swagger UI sent").toBe(
          JSON.stringify({ phone: PHONE }),
        );
        expect(response.request().headers()["content-type"], "the content type Swagger UI sent").toMatch(
          /^application\/json/,
        );
        const sent = (await response.json()) as { verificationId?: string };

        // What the UI shows.
        const live = send.locator(".live-responses-table tbody tr.response").first();
        await live.waitFor({ state: "visible" });
        expect(
          await live.locator(".response-col_status").innerText(),
          "status shown for the live response",
        ).toBe("200");
        const shownBody = await live.locator(".response-col_description pre").first().innerText();
        expect(shownBody, "response body shown").toContain('"verificationId"');
        const shown = JSON.parse(shownBody) as {
          verificationId: string;
          expiresAt: string;
          attemptsLeft: number;
        };
        expect(shown.verificationId, "shown verificationId is the one the gateway sent").toBe(
          must(sent.verificationId, "a verificationId in the gateway's answer"),
        );
        expect(shown.attemptsLeft).toBeGreaterThan(0);
        expect(await send.locator(".request-url pre").innerText(), "request URL shown").toBe(
          `${origin}/v1/otp/send`,
        );

        // What the gateway did: the console provider printed a code for exactly this request (under its
        // own id, which the gateway's carries after its tag).
        const logged = lines
          .map((line) => JSON.parse(line) as { msg?: string; providerId?: string; code?: string })
          .filter(
            (entry) =>
              entry.msg?.startsWith("console provider: OTP code") &&
              shown.verificationId.endsWith(`.${entry.providerId}`),
          );
        expect(
          logged.length,
          `console provider log lines for ${shown.verificationId}; all lines:\n${lines.join("\n")}`,
        ).toBe(1);
        expect(logged[0]?.code, "the logged code").toMatch(/^[0-9]{6}$/);

        expectStayedOnGateway(traffic);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
  test(
    "send's schemas resolve: no resolver errors, and the example body is the schema's example",
    async () => {
      const { context, page, traffic } = await openSwagger();
      try {
        const send = operation(page, "POST", "/v1/otp/send");
        await send.locator(".opblock-summary-control").click();
        const tryItOut = send.locator("button.try-out__btn", { hasText: "Try it out" });
        if (await tryItOut.isVisible()) await tryItOut.click();
        const body = send.locator(".opblock-section-request-body textarea");
        await body.waitFor({ state: "visible" });
        expect(JSON.parse(await body.inputValue()), "the body Swagger UI offers").toEqual({
          phone: "+919876543210",
        });
        await send.locator("tr.response[data-code='429']").waitFor({ state: "visible" });
        const errors = await page.locator(".errors-wrapper").allInnerTexts();
        expect(errors, "Swagger UI's resolver errors").toEqual([]);
        expectStayedOnGateway(traffic);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "two Executes of send with different numbers both answer 200: no Idempotency-Key is pre-filled",
    async () => {
      const { context, page, traffic } = await openSwagger();
      try {
        const first = await executeSend(page, "+919876500001");
        const second = await executeSend(page, "+919876500002");
        expect(first.response.status(), "first Execute").toBe(200);
        expect(second.response.status(), "second Execute").toBe(200);
        expect(second.response.headers()["idempotent-replayed"], "a replayed answer").toBeUndefined();
        const ids = [await first.response.json(), await second.response.json()].map(
          (answer) => (answer as { verificationId: string }).verificationId,
        );
        expect(new Set(ids).size, `two verifications, not one replayed: ${ids.join(", ")}`).toBe(2);
        for (const response of [first.response, second.response]) {
          expect(response.request().headers()["idempotency-key"], "the key Swagger UI sent").toBeUndefined();
        }
        expectStayedOnGateway(traffic);
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a browser landing on / is taken to the docs, whose page says where the console provider's codes appear",
    async () => {
      if (!browser) throw new Error("Chromium did not start; see the beforeAll error above.");
      const context = await browser.newContext();
      context.setDefaultTimeout(STEP_TIMEOUT_MS);
      try {
        const page = await context.newPage();
        const response = await page.goto(`${origin}/`);
        expect(response?.status(), "GET / after redirects").toBe(200);
        expect(new URL(page.url()).pathname).toBe("/swagger");
        await page
          .locator("#swagger-ui .info")
          .getByText("console provider", { exact: false })
          .first()
          .waitFor({
            state: "visible",
          });
      } finally {
        await context.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
