package slackout

// Usage is the one-line syntax of /paylink, shown with every rejection.
const Usage = "Usage: /paylink <amount> <GBP|EUR> <reference>"

// UsageExample follows Usage in rejections.
const UsageExample = "Example: /paylink 10.00 GBP ref-123"

// Help answers "/paylink help", and "/paylink" alone when the form can't open.
const Help = "*/paylink* creates a Dojo payment link and posts it in this channel for you to send to the customer. " +
	"When the customer pays, \"Paid\" is posted under the link.\n" +
	Usage + "\n" +
	"Examples:\n" +
	"• `/paylink 10.00 GBP ref-123`\n" +
	"• `/paylink €25 Order 236`\n" +
	"• `/paylink gbp 1,250.50 INV-2024-001 --expires 24h`\n" +
	"The amount is in pounds or euros (up to 2 decimals); the reference (1–60 characters) is shown to the customer and in Dojo. " +
	"`--expires` takes minutes, hours or days (`90m`, `24h`, `7d`; at most 30 days, the default).\n" +
	"Also:\n" +
	"• `/paylink` alone opens a form\n" +
	"• `/paylink list`: the last 10 links asked for in this channel\n" +
	"• `/paylink status <reference or intent id>`: where a link stands, from Dojo\n" +
	"• `/paylink cancel <reference or intent id>`: cancel a link that has not been paid (yours, or any if you are an admin)\n" +
	"• `/paylink refund <reference or intent id> [amount]`: refund a paid link, all that is left or the amount given (refunders and admins)\n" +
	"A command that starts with an amount, a currency or £/€ makes a link; one that starts with help, list, status, cancel or refund is one of these."
