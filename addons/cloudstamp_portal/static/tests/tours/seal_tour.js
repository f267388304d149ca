/** @odoo-module **/

import { registry } from "@web/core/registry";

// A recipient places their seal on page 1 in the pdf.js viewer, sees the
// preview, and agrees.
registry.category("web_tour.tours").add("cloudstamp_seal_tour", {
    steps: () => [
        {
            content: "Accept the terms of use",
            trigger: "input[name=accept]",
            run: "click",
        },
        {
            content: "Go on to the documents",
            trigger: ".o_cloudstamp_terms_submit",
            run: "click",
        },
        {
            content: "The PDF is rendered by pdf.js",
            trigger: ":iframe .page[data-page-number='1'] .textLayer span",
        },
        {
            content: "The company name may be the seal's text",
            trigger: ".o_cloudstamp_seal label[for=o_cloudstamp_seal_source_company]",
        },
        {
            content: "Start placing the seal",
            trigger: ".o_cloudstamp_seal_start",
            run: "click",
        },
        {
            content: "Click the middle of page 1",
            trigger: ":iframe .page[data-page-number='1'] .textLayer",
            run() {
                // A click where a person would click: at the page's centre,
                // in the viewer's own coordinates (the seal's position is
                // checked in the signed PDF afterwards).
                const frame = document.querySelector("iframe.o_cloudstamp_viewer");
                const layer = frame.contentDocument.querySelector(".page[data-page-number='1'] .textLayer");
                const rect = layer.getBoundingClientRect();
                layer.dispatchEvent(
                    new frame.contentWindow.MouseEvent("click", {
                        bubbles: true,
                        cancelable: true,
                        clientX: rect.left + rect.width / 2,
                        clientY: rect.top + rect.height / 2,
                    })
                );
            },
        },
        {
            content: "The preview shows the seal, with the name written vertically, on page 1",
            trigger: ":iframe .page[data-page-number='1'] .o_cloudstamp_seal_preview[data-text='山田太郎'][data-shape='round']",
        },
        {
            content: "The seal is noted in the agree form",
            trigger: ".o_cloudstamp_seal.o_cloudstamp_seal_placed .o_cloudstamp_seal_status .o_cloudstamp_seal_page:contains(1)",
            run() {
                const form = document.querySelector("form.o_cloudstamp_agree_form");
                const value = (name) => form.querySelector(`input[name=seal_${name}]`).value;
                if (value("page") !== "0" || !value("file_id") || Number.isNaN(parseFloat(value("x")))) {
                    throw new Error(`seal not in the form: page=${value("page")} x=${value("x")}`);
                }
            },
        },
        {
            content: "Agree",
            trigger: ".o_cloudstamp_agree",
            run: "click",
        },
        {
            content: "Done: the last party; the signed documents follow by mail",
            trigger: ".o_cloudstamp_closed",
        },
    ],
});
