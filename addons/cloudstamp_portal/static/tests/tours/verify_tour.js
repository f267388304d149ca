/** @odoo-module **/

import { registry } from "@web/core/registry";

// A counterparty checks a file on the public verification page, in Japanese:
// the final PDF of a contract (its address given as ?sample=), then a file
// that is not a PDF.
registry.category("web_tour.tours").add("cloudstamp_verify_tour", {
    steps: () => [
        {
            content: "The page speaks Japanese",
            trigger: ".o_cloudstamp_verify h2:contains(署名付きPDFの検証)",
        },
        {
            content: "Choose the contract's final PDF",
            trigger: ".o_cloudstamp_verify input[name=pdf]",
            async run() {
                const sample = new URLSearchParams(window.location.search).get("sample");
                const data = await (await fetch(sample)).blob();
                const transfer = new DataTransfer();
                transfer.items.add(new File([data], "契約書.pdf", { type: "application/pdf" }));
                this.anchor.files = transfer.files;
            },
        },
        {
            content: "Verify",
            trigger: ".o_cloudstamp_verify_submit",
            run: "click",
        },
        {
            content: "Valid, ours and identical; the material is in the file, with its end date",
            trigger: ".o_cloudstamp_verdict_valid",
        },
        {
            content: "Until when the evidence can be validated",
            trigger: ".o_cloudstamp_long_term:contains(検証情報（証明書と失効リスト）がファイルに埋め込まれています) .o_cloudstamp_valid_until",
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
