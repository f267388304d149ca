/** @odoo-module **/

import { registry } from "@web/core/registry";

// A counterparty checks a file on the public verification page, in Japanese.
registry.category("web_tour.tours").add("cloudstamp_verify_tour", {
    steps: () => [
        {
            content: "The page speaks Japanese",
            trigger: ".o_cloudstamp_verify h2:contains(署名付きPDFの検証)",
        },
        {
            content: "Choose a file that is not a PDF",
            trigger: ".o_cloudstamp_verify input[name=pdf]",
            run() {
                const transfer = new DataTransfer();
                transfer.items.add(new File(["not a pdf"], "invoice.pdf", { type: "application/pdf" }));
                this.anchor.files = transfer.files;
            },
        },
        {
            content: "Verify",
            trigger: ".o_cloudstamp_verify_submit",
            run: "click",
        },
        {
            content: "Not valid, and why, in plain Japanese",
            trigger: ".o_cloudstamp_verdict_invalid li:contains(PDF ではありません)",
        },
    ],
});
