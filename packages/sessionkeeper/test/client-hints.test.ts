import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ClientHintHeaders, parseClientHints, sfList, sfString } from "../src/client-hints.js";
import { checkDeviceName } from "../src/device-name.js";
import { describeDevice, summarizeDevice } from "../src/device-words.js";
import { ACCEPT_CH, type DeviceParts, describeDevice as publicDescribe } from "../src/index.js";
import { parseUserAgent } from "../src/user-agent.js";

// What Chrome, Edge and a Pixel really send (Chrome 131, December 2026), and what the frozen
// User-Agent says next to them.
const WINDOWS_UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const MAC_EDGE_UA =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
const PIXEL_UA =
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

function hints(overrides: Partial<ClientHintHeaders>): ClientHintHeaders {
  return {
    platform: null,
    platformVersion: null,
    model: null,
    fullVersionList: null,
    ...overrides,
  };
}

const CHROME_LIST =
  '"Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"';

describe("client hints name devices as people know them", () => {
  it("Windows 11: platform version 13 and up, with Chrome's full version", () => {
    const device = parseUserAgent(
      WINDOWS_UA,
      512,
      hints({ platform: '"Windows"', platformVersion: '"15.0.0"', fullVersionList: CHROME_LIST }),
    );
    assert.equal(describeDevice(device), "Chrome 131 on Windows 11");
    assert.equal(device.browserVersion, "131.0.6778.86");
    // Without hints the same browser is Windows 10, as its User-Agent says.
    assert.equal(describeDevice(parseUserAgent(WINDOWS_UA)), "Chrome 131 on Windows 10");
    // Platform versions 1 to 12 are Windows 10; 0 (7, 8, 8.1) keeps what the User-Agent says.
    for (const [version, words] of [
      ["10.0.0", "Windows 10"],
      ["13.0.0", "Windows 11"],
    ]) {
      const d = parseUserAgent(
        WINDOWS_UA,
        512,
        hints({ platform: '"Windows"', platformVersion: `"${version}"` }),
      );
      assert.equal(describeDevice(d), `Chrome 131 on ${words}`);
    }
    const win7 = parseUserAgent(
      WINDOWS_UA.replace("NT 10.0", "NT 6.1"),
      512,
      hints({ platform: '"Windows"', platformVersion: '"0.1.0"' }),
    );
    assert.equal(describeDevice(win7), "Chrome 131 on Windows 7");
  });

  it("Edge on macOS 15: the real macOS version, named by its major number", () => {
    const device = parseUserAgent(
      MAC_EDGE_UA,
      512,
      hints({
        platform: '"macOS"',
        platformVersion: '"15.1.0"',
        fullVersionList:
          '"Microsoft Edge";v="131.0.2903.70", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"',
      }),
    );
    assert.equal(describeDevice(device), "Microsoft Edge 131 on macOS 15");
    assert.equal(summarizeDevice(device), "Microsoft Edge on macOS");
    // The frozen User-Agent alone would say 10.15.
    assert.equal(describeDevice(parseUserAgent(MAC_EDGE_UA)), "Microsoft Edge 131 on macOS 10.15");
  });

  it("Pixel 8: the model replaces the system in the name", () => {
    const device = parseUserAgent(
      PIXEL_UA,
      512,
      hints({
        platform: '"Android"',
        platformVersion: '"14.0.0"',
        model: '"Pixel 8"',
        fullVersionList: CHROME_LIST,
      }),
    );
    assert.equal(device.deviceModel, "Pixel 8");
    assert.equal(device.osVersion, "14.0.0");
    assert.equal(describeDevice(device), "Chrome 131 on Pixel 8");
    // A desktop sends an empty model: no model.
    const empty = parseUserAgent(WINDOWS_UA, 512, hints({ model: '""' }));
    assert.equal(empty.deviceModel, null);
  });

  it("the user's name leads, the device follows, everywhere", () => {
    const device = {
      ...parseUserAgent(
        WINDOWS_UA,
        512,
        hints({ platform: '"Windows"', platformVersion: '"15.0.0"' }),
      ),
      name: "Work laptop",
    };
    assert.equal(describeDevice(device), "Work laptop (Chrome 131 on Windows 11)");
    assert.equal(summarizeDevice(device), "Work laptop (Chrome on Windows)");
  });

  it("Chromium is named only when no other brand is, and GREASE brands never", () => {
    const only = parseClientHints(
      hints({ fullVersionList: '"Not)A;Brand";v="99.0.0.0", "Chromium";v="131.0.6778.86"' }),
    );
    assert.deepEqual([only.browserName, only.browserVersion], ["Chromium", "131.0.6778.86"]);
    const brave = parseClientHints(
      hints({ fullVersionList: '"Chromium";v="131.0.0.0", "Brave";v="131.0.0.0"' }),
    );
    assert.equal(brave.browserName, "Brave");
    const grease = parseClientHints(hints({ fullVersionList: '"Not A(Brand";v="8"' }));
    assert.equal(grease.browserName, null);
  });
});

describe("the public entry", () => {
  it("exports the Accept-CH value pages send and the one naming function", () => {
    assert.equal(
      ACCEPT_CH,
      "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model, Sec-CH-UA-Full-Version-List",
    );
    const parts: DeviceParts = {
      browserName: "Chrome",
      browserVersion: "131.0.6778.86",
      osName: "Windows",
      osVersion: "11",
      name: "Work laptop",
    };
    assert.equal(publicDescribe(parts), "Work laptop (Chrome 131 on Windows 11)");
  });
});

describe("client hints are hostile input", () => {
  const HOSTILE = [
    "",
    '"',
    '"unterminated',
    '"a"b',
    '"tab\there"',
    '"new\nline"',
    '"bad \\escape"',
    '"non-ascii é"',
    `"${"x".repeat(300)}"`,
    '"<script>alert(1)</script>"', // valid sf-string: kept as text, escaped by every page
    "token-not-string",
    '"A";v=, "B"',
    '"A";V="1"',
    '"A",',
    ',"A"',
    '"A" "B"',
    Array.from({ length: 20 }, (_, i) => `"B${i}";v="1"`).join(", "),
  ];

  it("sfString and sfList refuse what RFC 8941 refuses, and bound the input", () => {
    assert.equal(sfString('"Windows"'), "Windows");
    assert.equal(sfString(' "a \\"quoted\\" \\\\ name" '), 'a "quoted" \\ name');
    assert.deepEqual(
      sfList('"A";v="1";x, "B"')?.map((i) => [i.value, [...i.params]]),
      [
        [
          "A",
          [
            ["v", "1"],
            ["x", "?1"],
          ],
        ],
        ["B", []],
      ],
    );
    for (const bad of ['"', '"a"b', '"tab\there"', '"é"', `"${"x".repeat(300)}"`, "Windows"]) {
      assert.equal(sfString(bad), null, JSON.stringify(bad));
    }
    for (const bad of ['"A";v=, "B"', '"A";V="1"', '"A",', ',"A"', '"A" "B"', HOSTILE.at(-1)]) {
      assert.equal(sfList(bad), null, JSON.stringify(bad));
    }
  });

  it("never throws, never takes long, and leaves the User-Agent's words when hints are junk", () => {
    const baseline = describeDevice(parseUserAgent(WINDOWS_UA));
    const started = performance.now();
    for (const value of HOSTILE) {
      const junk: ClientHintHeaders = {
        platform: value,
        platformVersion: value,
        model: value,
        fullVersionList: value,
      };
      const device = parseUserAgent(WINDOWS_UA, 512, junk);
      // Junk never names another browser or system: hints that do not agree with the
      // User-Agent are left out, and a made-up model needs the platform to agree too.
      assert.equal(describeDevice(device), baseline, JSON.stringify(value));
    }
    // Huge inputs are refused before parsing: a megabyte costs nothing.
    const huge = '"a";v="1", '.repeat(100_000);
    parseUserAgent(WINDOWS_UA, 512, hints({ fullVersionList: huge, platformVersion: huge }));
    assert.ok(performance.now() - started < 200, "parsing hostile hints is fast");
  });

  it("platform versions must be numbers; unknown platforms are ignored", () => {
    for (const version of ['"15.0.0; drop"', '"-1"', '"1e9"', '"15.0.0.0.0"', '"999999"']) {
      const h = parseClientHints(hints({ platform: '"Windows"', platformVersion: version }));
      assert.equal(h.osVersion, null, version);
    }
    assert.equal(parseClientHints(hints({ platform: '"Unknown"' })).osName, null);
    assert.equal(parseClientHints(hints({ platform: '"TempleOS"' })).osName, null);
  });
});

describe("device names given by users", () => {
  it("are trimmed and NFC-normalised; empty and null clear them", () => {
    assert.equal(checkDeviceName("  Work laptop  "), "Work laptop");
    assert.equal(checkDeviceName("Zoe\u0308"), "Zoë");
    assert.equal(checkDeviceName("💻".repeat(64)), "💻".repeat(64));
    assert.equal(checkDeviceName(""), null);
    assert.equal(checkDeviceName("   "), null);
    assert.equal(checkDeviceName(null), null);
  });

  it("refuse more than 64 characters, control and direction characters, and non-strings", () => {
    const refused: unknown[] = [
      "x".repeat(65),
      "a".repeat(10_000),
      "line\nbreak",
      "tab\there",
      "nul\u0000",
      "del\u007f",
      "evil\u202ereversed",
      "isolate\u2066x",
      "sep\u2028x",
      "lone\ud800surrogate",
      42,
      {},
      ["Work laptop"],
    ];
    for (const value of refused) {
      assert.throws(() => checkDeviceName(value), RangeError, JSON.stringify(value));
    }
  });
});

describe("client hints that disagree with the User-Agent", () => {
  it("leave the User-Agent's browser and system: an overridden User-Agent is not mixed with the real browser's hints", () => {
    const mac =
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const device = parseUserAgent(
      mac,
      512,
      hints({
        platform: '"Linux"',
        platformVersion: '"6.1.0"',
        fullVersionList: '"Chromium";v="156.0.8078.114", "Not.A/Brand";v="99.0.0.0"',
      }),
    );
    assert.equal(describeDevice(device), "Chrome 131 on macOS 10.15");
  });
});
