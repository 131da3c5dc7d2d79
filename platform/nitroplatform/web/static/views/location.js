// Where a camera is, without any external map: coordinates, a geo: link for the phone's own maps app,
// and a small site sketch drawn from the registered camera positions. A tile server is used only when an
// operator configured one (none by default).

import { formatCoord, t } from "../i18n.js";
import { h, svg } from "../ui.js";

const WIDTH = 340;
const HEIGHT = 220;
const PAD = 36;
const METRES_PER_DEGREE = 111320;

function hasPosition(camera) {
  return camera && Number.isFinite(camera.latitude) && Number.isFinite(camera.longitude);
}

/** A geo: URI (RFC 5870) with a label, opened by the phone's maps app. */
export function geoUri(camera) {
  const { latitude: lat, longitude: lon } = camera;
  const label = encodeURIComponent(camera.name || camera.id || "camera");
  return `geo:${lat},${lon}?q=${lat},${lon}(${label})`;
}

function project(points) {
  // Local flat projection in metres around the centre: good enough for a boulevard.
  const lat0 = points.reduce((s, p) => s + p.latitude, 0) / points.length;
  const lon0 = points.reduce((s, p) => s + p.longitude, 0) / points.length;
  const scaleX = METRES_PER_DEGREE * Math.cos((lat0 * Math.PI) / 180);
  // Leave room at the top for the north arrow and at the bottom for the scale bar.
  const xy = points.map((p) => ({ x: (p.longitude - lon0) * scaleX, y: (p.latitude - lat0) * METRES_PER_DEGREE }));
  const span = Math.max(60, ...xy.map((p) => Math.abs(p.x) * 2), ...xy.map((p) => Math.abs(p.y) * 2 * (WIDTH / HEIGHT)));
  const pxPerMetre = (WIDTH - 2 * PAD) / span;
  return {
    pxPerMetre,
    points: xy.map((p) => ({ x: WIDTH / 2 + p.x * pxPerMetre, y: HEIGHT / 2 - p.y * pxPerMetre * 0.8 })),
  };
}

function scaleBar(pxPerMetre) {
  const candidates = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
  const metres = candidates.find((m) => m * pxPerMetre >= 50) || 5000;
  const length = metres * pxPerMetre;
  const y = HEIGHT - 12;
  return svg("g", { class: "sketch-scale" },
    svg("line", { x1: 12, y1: y, x2: 12 + length, y2: y }),
    svg("text", { x: 12, y: y - 6 }, metres >= 1000 ? `${metres / 1000} km` : `${metres} m`));
}

/**
 * An inline SVG sketch of camera positions. `highlight` is the id drawn large and labelled;
 * `statusOf(camera)` may return a status class for markers.
 */
export function cameraSketch(cameras, { highlight = null, statusOf = null, title = "" } = {}) {
  const placed = cameras.filter(hasPosition);
  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "sketch", role: "img", "aria-labelledby": "sketch-title",
  }, svg("title", { id: "sketch-title" }, title));
  root.append(svg("rect", { x: 0, y: 0, width: WIDTH, height: HEIGHT, class: "sketch-bg", rx: 8 }));
  if (placed.length === 0) return root;
  const { pxPerMetre, points } = project(placed);
  root.append(svg("g", { class: "sketch-north", transform: "translate(20,26)" },
    svg("path", { d: "M0,-14 L6,4 L0,0 L-6,4 Z" }), svg("text", { x: 0, y: 16, "text-anchor": "middle" }, "N")));
  root.append(scaleBar(pxPerMetre));
  placed.forEach((camera, i) => {
    const { x, y } = points[i];
    const id = camera.id ?? camera.camera_id;
    const isHighlight = id === highlight;
    const status = statusOf ? statusOf(camera) : "";
    const group = svg("g", { class: `sketch-camera ${isHighlight ? "is-highlight" : ""} status-${status}` });
    group.append(svg("circle", { cx: x, cy: y, r: isHighlight ? 11 : 7 }));
    if (status === "offline" || status === "error") {
      group.append(svg("path", { d: `M${x - 4},${y - 4} L${x + 4},${y + 4} M${x + 4},${y - 4} L${x - 4},${y + 4}`, class: "sketch-cross" }));
    }
    if (isHighlight || placed.length <= 8) {
      const anchor = x > WIDTH / 2 ? "end" : "start"; // labels point towards the middle, never off the edge
      group.append(svg("text", { x: anchor === "end" ? x - 14 : x + 14, y: y + 5, "text-anchor": anchor }, camera.name || id));
    }
    root.append(group);
  });
  return root;
}

function tileImage(tileUrl, camera) {
  // One 256 px tile at zoom 17 (about 1.2 m/px at 52°N) with the camera marked on it.
  const zoom = 17;
  const n = 2 ** zoom;
  const latRad = (camera.latitude * Math.PI) / 180;
  const fx = ((camera.longitude + 180) / 360) * n;
  const fy = ((1 - Math.log(Math.tan(latRad) + 1 / Math.cos(latRad)) / Math.PI) / 2) * n;
  const [x, y] = [Math.floor(fx), Math.floor(fy)];
  const src = tileUrl.replace("{z}", zoom).replace("{x}", x).replace("{y}", y);
  return h(
    "div",
    { class: "tile" },
    h("img", { src, alt: t("location.tile_alt"), width: 256, height: 256, loading: "lazy" }),
    h("span", {
      class: "tile-marker", "aria-hidden": "true",
      style: null,
      dataset: { left: ((fx - x) * 100).toFixed(1), top: ((fy - y) * 100).toFixed(1) },
    }),
  );
}

/** The location section of an incident: sketch or tile, coordinates and the geo: link. */
export function locationSection(ctx, camera, cameras, cameraId) {
  const section = h("section", { class: "card location", id: "location", "aria-labelledby": "location-title" },
    h("h2", { id: "location-title" }, t("location.title")));
  if (!hasPosition(camera)) {
    section.append(h("p", {}, t("location.unknown", { camera: cameraId })));
    return section;
  }
  const sameSite = [...cameras.values()].filter((c) => hasPosition(c) && (!camera.site || c.site === camera.site));
  if (ctx.config && ctx.config.tile_url) {
    const tile = tileImage(ctx.config.tile_url, camera);
    const marker = tile.querySelector(".tile-marker");
    marker.style.left = `${marker.dataset.left}%`;
    marker.style.top = `${marker.dataset.top}%`;
    section.append(tile);
  } else {
    section.append(cameraSketch(sameSite, {
      highlight: camera.id ?? camera.camera_id,
      title: t("location.sketch_title", { camera: camera.name || cameraId, site: camera.site || "" }),
    }));
  }
  section.append(
    h("p", { class: "location-site" }, [camera.name, camera.site].filter(Boolean).join(" · ")),
    h("p", { class: "coords" }, t("location.coordinates", {
      lat: formatCoord(camera.latitude), lon: formatCoord(camera.longitude),
    })),
    h("a", { class: "button button-block", href: geoUri(camera), id: "geo-link" }, t("location.open_maps")),
  );
  return section;
}
