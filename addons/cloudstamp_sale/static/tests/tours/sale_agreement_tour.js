/** @odoo-module **/

import { registry } from "@web/core/registry";

// A salesperson sends a quotation for agreement from its own form.
registry.category("web_tour.tours").add("cloudstamp_sale_send_tour", {
    steps: () => [
        {
            content: "Send the quotation for agreement",
            trigger: ".o_form_view button[name=action_cloudstamp_send_for_agreement]",
            run: "click",
        },
        {
            content: "The prepared send holds the quotation's PDF",
            trigger: ".o_form_view .o_data_row td:contains('.pdf')",
        },
        {
            content: "Send it",
            trigger: ".o_form_view button[name=action_send]",
            run: "click",
        },
        {
            content: "It is on its way to the customer",
            trigger: ".o_statusbar_status button.o_arrow_button_current[data-value=sent]",
        },
    ],
});

// Once the customer agreed: the contract is under the quotation's smart button.
registry.category("web_tour.tours").add("cloudstamp_sale_contract_tour", {
    steps: () => [
        {
            content: "One contract on the order",
            trigger: ".o_form_view button[name=action_view_cloudstamp_contracts] .o_stat_value:contains(1)",
            run: "click",
        },
        {
            content: "The contract, with the customer as counterparty",
            trigger: ".o_form_view .o_field_widget[name=partner_id]:contains(ヤマダ商会)",
        },
    ],
});
