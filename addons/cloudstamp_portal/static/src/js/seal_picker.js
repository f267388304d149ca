/** @odoo-module ignore **/
/*
 * Placing a seal (印影) on a page of a PDF shown by pdf.js.
 *
 * The page holds one `.o_cloudstamp_seal` block (the choices and the
 * button), pdf.js viewers in same-origin iframes (`iframe[data-file-id]`)
 * and a form whose hidden inputs (seal_file_id, seal_page, seal_x, seal_y,
 * seal_shape, seal_source) carry the seal to the server. The position is the
 * seal's centre in PDF user-space points (pdf.js `convertToPdfPoint`), the
 * page 0-based: what the signing engine takes. The server checks all of it
 * again; this is only the pointing and the preview.
 *
 * A plain script (no Odoo module system): the recipient pages load nothing
 * else of Odoo's JavaScript.
 */
(function () {
    "use strict";

    const SIZE = 54; // points: the engine's default seal size (about 19 mm)
    const RED = "rgb(204, 26, 26)"; // the engine's SEAL_RED
    // The engine's proportions (seal.py): ring width and the gap inside it.
    const RING = 0.05;
    const GAP = 0.04;
    const FIELDS = ["file_id", "page", "x", "y", "shape", "source"];

    /** The engine's layout: 1-3 characters in one column, up to 6 in two,
     * then three; earlier (right-hand) columns take the extra characters.
     * Returns the columns and the glyph size in points. */
    function layout(text, shape) {
        const chars = Array.from(text);
        const count = chars.length;
        const ncols = count <= 3 ? 1 : count <= 6 ? 2 : 3;
        const rows = Math.ceil(count / ncols);
        const half = (SIZE - SIZE * RING) / 2;
        const inner = half - (SIZE * RING) / 2 - SIZE * GAP;
        let cell = shape === "round" ? (2 * inner) / Math.hypot(ncols, rows) : (2 * inner) / Math.max(ncols, rows);
        if (ncols === 1 && shape === "round") {
            cell = Math.min((2 * inner) / Math.hypot(1, count), (2 * inner) / count);
        }
        const cols = [];
        let index = 0;
        for (let c = 0; c < ncols; c++) {
            const length = Math.floor(count / ncols) + (c < count % ncols ? 1 : 0);
            cols.push(chars.slice(index, index + length).join(""));
            index += length;
        }
        return { cols, cell };
    }

    function clamp(value, low, high) {
        return low > high ? (low + high) / 2 : Math.min(Math.max(value, low), high);
    }

    class SealPicker {
        constructor(root) {
            this.root = root;
            this.form = document.querySelector(root.dataset.form);
            this.texts = JSON.parse(root.dataset.texts || "{}");
            this.frames = Array.from(document.querySelectorAll("iframe.o_cloudstamp_viewer[data-file-id]"));
            this.placing = false;
            this.seal = null; // {fileId, page, x, y}
            this.startButton = root.querySelector(".o_cloudstamp_seal_start");
            this.hint = root.querySelector(".o_cloudstamp_seal_hint");
            this.status = root.querySelector(".o_cloudstamp_seal_status");
            // The hint goes above the first viewer, where the person looks
            // while choosing the spot (on a phone the picker is far below).
            const firstViewer = this.frames[0] && (this.frames[0].closest(".mb-4") || this.frames[0]);
            if (firstViewer) {
                firstViewer.before(this.hint);
            }
            this.startButton.addEventListener("click", () => {
                this.setPlacing(!this.placing);
                if (this.placing && firstViewer) {
                    this.hint.scrollIntoView({ behavior: "smooth", block: "start" });
                }
            });
            root.querySelector(".o_cloudstamp_seal_remove").addEventListener("click", (ev) => {
                ev.preventDefault();
                this.seal = null;
                this.update();
            });
            root.querySelectorAll("input[type=radio]").forEach((radio) =>
                radio.addEventListener("change", () => this.update())
            );
            const initial = root.dataset.seal ? JSON.parse(root.dataset.seal) : null;
            if (initial) {
                this.seal = { fileId: initial.file_id, page: initial.page, x: initial.x, y: initial.y };
            }
            this.frames.forEach((frame) => this.whenViewerReady(frame));
            this.update();
        }

        choice(name, fallback) {
            const checked = this.root.querySelector(`input[name=o_cloudstamp_seal_${name}]:checked`);
            return checked ? checked.value : fallback;
        }

        setPlacing(placing) {
            this.placing = placing;
            this.hint.classList.toggle("d-none", !placing);
            this.startButton.classList.toggle("active", placing);
            for (const frame of this.frames) {
                const container = frame.contentDocument && frame.contentDocument.getElementById("viewerContainer");
                if (container) {
                    container.style.cursor = placing ? "crosshair" : "";
                }
            }
        }

        /** pdf.js starts inside the iframe on its own time: wait for it,
         * then follow its clicks and re-renderings. */
        whenViewerReady(frame) {
            const attach = () => {
                const win = frame.contentWindow;
                const app = win && win.PDFViewerApplication;
                if (!app || !app.initialized || !app.pdfViewer || !app.eventBus) {
                    setTimeout(attach, 150);
                    return;
                }
                frame.cloudstampApp = app;
                const redraw = () => this.draw();
                // A zoom or rotation empties the page divs; rendering refills them.
                for (const name of ["pagesinit", "pagerendered", "scalechanging", "rotationchanging"]) {
                    app.eventBus.on(name, redraw);
                }
                const container = frame.contentDocument.getElementById("viewerContainer");
                container.addEventListener("click", (ev) => this.onClick(frame, ev));
                this.setPlacing(this.placing);
                this.draw();
            };
            attach();
        }

        onClick(frame, ev) {
            if (!this.placing) {
                return;
            }
            const pageDiv = ev.target.closest && ev.target.closest(".page[data-page-number]");
            if (!pageDiv) {
                return;
            }
            const app = frame.cloudstampApp;
            const index = Number(pageDiv.dataset.pageNumber) - 1;
            const view = app.pdfViewer.getPageView(index);
            if (!view || !view.viewport || !view.pdfPage) {
                return;
            }
            ev.preventDefault();
            // The page's border is outside the viewport; during a zoom the
            // div is CSS-scaled before pdf.js renders it again.
            const rect = pageDiv.getBoundingClientRect();
            const ratio = view.viewport.width / pageDiv.clientWidth;
            const left = (ev.clientX - rect.left - pageDiv.clientLeft) * ratio;
            const top = (ev.clientY - rect.top - pageDiv.clientTop) * ratio;
            const [px, py] = view.viewport.convertToPdfPoint(left, top);
            // Keep the whole seal on the visible page (pdf.js `view` is the
            // crop box within the media box, as the engine checks it).
            const [x1, y1, x2, y2] = view.pdfPage.view;
            const half = SIZE / 2;
            this.seal = {
                fileId: Number(frame.dataset.fileId),
                page: index,
                x: Math.round(clamp(px, Math.min(x1, x2) + half, Math.max(x1, x2) - half) * 100) / 100,
                y: Math.round(clamp(py, Math.min(y1, y2) + half, Math.max(y1, y2) - half) * 100) / 100,
            };
            this.setPlacing(false);
            this.update();
        }

        update() {
            const seal = this.seal;
            const values = seal
                ? {
                      file_id: seal.fileId,
                      page: seal.page,
                      x: seal.x,
                      y: seal.y,
                      shape: this.choice("shape", "round"),
                      source: this.choice("source", "name"),
                  }
                : {};
            for (const name of FIELDS) {
                const input = this.form && this.form.querySelector(`input[name=seal_${name}]`);
                if (input) {
                    input.value = name in values ? String(values[name]) : "";
                }
            }
            this.status.classList.toggle("d-none", !seal);
            this.root.classList.toggle("o_cloudstamp_seal_placed", Boolean(seal));
            if (seal) {
                const frame = this.frames.find((f) => Number(f.dataset.fileId) === seal.fileId);
                this.status.querySelector(".o_cloudstamp_seal_page").textContent = String(seal.page + 1);
                this.status.querySelector(".o_cloudstamp_seal_file").textContent = frame ? frame.title : "";
            }
            this.draw();
        }

        /** The preview: a red ring or square with the text written
         * vertically, on the page, at the seal's place, in pdf.js's scale. */
        draw() {
            for (const frame of this.frames) {
                const doc = frame.contentDocument;
                if (doc) {
                    doc.querySelectorAll(".o_cloudstamp_seal_preview").forEach((el) => el.remove());
                }
            }
            const seal = this.seal;
            if (!seal) {
                return;
            }
            const frame = this.frames.find((f) => Number(f.dataset.fileId) === seal.fileId);
            const app = frame && frame.cloudstampApp;
            const view = app && app.pdfViewer.getPageView(seal.page);
            if (!view || !view.viewport || !view.div) {
                return;
            }
            const shape = this.choice("shape", "round");
            const text = this.texts[this.choice("source", "name")] || "";
            const viewport = view.viewport;
            const [cx, cy] = viewport.convertToViewportPoint(seal.x, seal.y);
            const { cols, cell } = layout(text, shape);
            // Lengths in points times pdf.js's own factor, so that the
            // preview follows a zoom before the page is rendered again.
            const pt = (value) => `calc(var(--scale-factor, ${viewport.scale}) * ${value.toFixed(3)}px)`;
            const doc = frame.contentDocument;
            const el = doc.createElement("div");
            el.className = "o_cloudstamp_seal_preview";
            el.setAttribute("aria-hidden", "true");
            el.dataset.text = text;
            el.dataset.shape = shape;
            Object.assign(el.style, {
                position: "absolute",
                left: `${(cx / viewport.width) * 100}%`,
                top: `${(cy / viewport.height) * 100}%`,
                width: pt(SIZE),
                height: pt(SIZE),
                transform: "translate(-50%, -50%)",
                boxSizing: "border-box",
                border: `${pt(SIZE * RING)} solid ${RED}`,
                borderRadius: shape === "round" ? "50%" : "0",
                color: RED,
                display: "flex",
                alignItems: "center",
                justifyContent: "center",
                pointerEvents: "none",
                zIndex: "10",
                opacity: "0.9",
            });
            const inner = doc.createElement("div");
            inner.textContent = cols.join("\n");
            Object.assign(inner.style, {
                writingMode: "vertical-rl",
                textOrientation: "upright",
                whiteSpace: "pre",
                fontFamily: '"IPAexMincho", "IPAMincho", "Noto Serif CJK JP", "Hiragino Mincho ProN", serif',
                fontSize: pt(cell * 0.92),
                lineHeight: `${(1 / 0.92).toFixed(3)}`,
                letterSpacing: pt(cell * 0.08),
                textAlign: "center",
            });
            el.appendChild(inner);
            view.div.appendChild(el);
        }
    }

    function start() {
        document.querySelectorAll(".o_cloudstamp_seal").forEach((root) => {
            if (!root.cloudstampSeal) {
                root.cloudstampSeal = new SealPicker(root);
            }
        });
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
