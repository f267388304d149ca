/** @odoo-module **/

import { registry } from "@web/core/registry";

// A recipient's whole visit: access code, terms, the documents, agree.
registry.category("web_tour.tours").add("cloudstamp_recipient_tour", {
    steps: () => [
        {
            content: "Enter the access code",
            trigger: "input[name=access_code]",
            run: "edit Sakura2026",
        },
        {
            content: "Continue",
            trigger: ".o_cloudstamp_code_submit",
            run: "click",
        },
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
            content: "The viewer speaks the recipient's language (Japanese)",
            trigger: ":iframe #pageNumber[title='ページ']",
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
