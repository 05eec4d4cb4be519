// Registers a Rhai grammar with the highlight.js that mdBook ships, then
// highlights the book's ```rhai blocks with it.
(function () {
    if (typeof hljs === "undefined") { return; }
    hljs.registerLanguage("rhai", function (hljs) {
        return {
            name: "Rhai",
            keywords: {
                keyword: "let const fn if else while loop for in do until return break continue " +
                    "try catch throw switch import export as private this spawn",
                literal: "true false",
                built_in: "print debug socket spawn lock queue value local process pool pack unpack " +
                    "calcsize hexdump sleep time strftime input pid exit open help"
            },
            contains: [
                hljs.C_LINE_COMMENT_MODE,
                hljs.C_BLOCK_COMMENT_MODE,
                hljs.QUOTE_STRING_MODE,
                { className: "string", begin: "`", end: "`", contains: [{ className: "subst", begin: "\\$\\{", end: "\\}" }] },
                hljs.C_NUMBER_MODE,
                { className: "title.function", begin: /\b[a-z_][a-z0-9_]*(?=\s*\()/ }
            ]
        };
    });
    document.querySelectorAll("code.language-rhai").forEach(function (block) {
        block.classList.remove("hljs");
        // highlight.js 10 takes (language, code); 11 takes (code, options).
        var result;
        try {
            result = hljs.highlight(block.textContent, { language: "rhai" });
        } catch (e) {
            result = hljs.highlight("rhai", block.textContent);
        }
        block.innerHTML = result.value;
        block.classList.add("hljs");
    });
})();
