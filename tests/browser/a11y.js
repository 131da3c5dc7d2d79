// Accessibility checks run inside the page by the browser tests (no library, no network).
// Returns {contrast: [...failures], labels: [...failures]}.
(() => {
  function parse(color) {
    const m = color.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  }
  function blend(top, bottom) {
    const a = top.a + bottom.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (c1, c2) => (c1 * top.a + c2 * bottom.a * (1 - top.a)) / a;
    return { r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a };
  }
  function background(el) {
    // Collect backgrounds from the element up to the root and composite them (no images are used).
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a === 1) break;
    }
    let result = { r: 255, g: 255, b: 255, a: 1 };
    const htmlBg = parse(getComputedStyle(document.documentElement).backgroundColor);
    if (htmlBg && htmlBg.a > 0) result = blend(htmlBg, result);
    for (const layer of layers.reverse()) result = blend(layer, result);
    return result;
  }
  function luminance({ r, g, b }) {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  }
  function ratio(a, b) {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  }
  function visible(el) {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const rect = el.getBoundingClientRect();
    return rect.width > 1 && rect.height > 1 && !el.closest("[hidden]");
  }
  const contrast = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const checked = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || checked.has(el) || !visible(el) || el.closest(".visually-hidden, svg")) continue;
    checked.add(el);
    const style = getComputedStyle(el);
    const fg = parse(style.color);
    const bg = background(el);
    const text = blend(fg, bg);
    const size = parseFloat(style.fontSize);
    const bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const needed = large ? 3 : 4.5;
    const r = ratio(text, bg);
    if (r < needed) contrast.push({ text: node.textContent.trim().slice(0, 40), ratio: Math.round(r * 100) / 100, needed, color: style.color, tag: el.tagName });
  }
  // SVG text against the sketch/chart background.
  for (const el of document.querySelectorAll("svg text")) {
    if (!visible(el)) continue;
    const fg = parse(getComputedStyle(el).fill);
    const svgEl = el.ownerSVGElement;
    const rect = svgEl.querySelector(".sketch-bg");
    const bg = rect ? parse(getComputedStyle(rect).fill) : background(svgEl);
    if (!fg || !bg) continue;
    const r = ratio(fg, bg);
    if (r < 4.5) contrast.push({ text: el.textContent.slice(0, 40), ratio: Math.round(r * 100) / 100, needed: 4.5, tag: "svg text" });
  }
  function accessibleName(el) {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const labelledby = el.getAttribute("aria-labelledby");
    if (labelledby) return labelledby.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || "").join(" ").trim();
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(" ").trim();
    if (el.tagName === "BUTTON" || el.tagName === "A") return el.textContent.trim() || (el.querySelector("img[alt]") || {}).alt || "";
    return el.getAttribute("title") || "";
  }
  const labels = [];
  for (const el of document.querySelectorAll("input, select, textarea, button, a[href]")) {
    if (!visible(el) && !(el.type === "radio" && visible(el.parentElement))) continue;
    if (el.type === "hidden") continue;
    if (!accessibleName(el)) labels.push({ tag: el.tagName, id: el.id, name: el.name, html: el.outerHTML.slice(0, 80) });
  }
  // Touch targets: interactive elements in main at least 44x44 CSS px (WCAG 2.5.5 AAA; we aim for it).
  const small = [];
  for (const el of document.querySelectorAll("main button, main .button, main .choice label, .topbar button, .mainnav a")) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.height < 44 || r.width < 44) small.push({ text: el.textContent.trim().slice(0, 30), w: r.width, h: r.height });
  }
  // Untranslated keys or unfilled {placeholders} on screen mean a catalog gap.
  const text = document.body.innerText;
  const untranslated = [...text.matchAll(/\{\w+\}|\b[a-z_]+\.[a-z_]+\.?[a-z_]*\b/g)]
    .map((m) => m[0]).filter((s) => s.startsWith("{") || /^(app|nav|incident|incidents|outcome|action|location|push|settings|error|login|overview|cameras|teams|privacy|audit|precision|state|category|camera_status|role|time|common|net|live)\./.test(s));
  return { contrast, labels, small, untranslated };
})()
