// Generates requests.jsonl: legitimate API traffic for measuring WAF false positives.
// Deterministic (seeded); run with `npx tsx bench/corpora/benign/generate.ts` after editing.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
const int = (n: number) => Math.floor(rnd() * n);
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

const names = [
  "Seán O'Brien",
  "D'Angelo Russell",
  'Zoë Saldaña',
  'José Álvarez',
  '李雷',
  'Ольга Петрова',
  'Nguyễn Văn An',
  "Mary-Kate O'Neil",
  'Björn Ångström',
  'محمد علي',
  'Renée Fleming',
  'Dr. Ngozi Okonjo-Iweala',
  "Jean-Luc d'Arcy",
  'Søren Kierkegaard',
  'Ａｌｉｃｅ',
  '山田 太郎',
];
const texts = [
  'Please select the blue option and drop the old one from my cart.',
  'Can you update my order? I selected the wrong size, drop it and add a medium instead.',
  'I love the <b>bold</b> new design, and the <i>italic</i> headings too!',
  'Union Square store: select items are 20% off from Monday.',
  "It's great -- really great. Don't change a thing; we'll be back.",
  'Our team uses SELECT statements every day; the training on JOINs from last week helped a lot.',
  'Delete my account please, and remove my email from the newsletter.',
  'The script for the school play is attached. Alert: rehearsal moved to 5pm!',
  'Prices: $5 & up; 2 < 3 and 5 > 4, obviously. 100% satisfied.',
  'Echo chamber? No — just a great podcast about bash, zsh and fish shells.',
  'I asked for a refund on 2024-03-12 (order #44812) but heard nothing back.',
  'Ship to: 12 Rue de l’Église, 75001 Paris. Door code 4#21.',
  'Call me at +1 (555) 010-9999 ext. 12 or email ann.smith+orders@example.org',
  'Loved it!!! 😍🔥 Will order again 👍',
  "My son's name is Bobby Tables, is that a problem? lol",
  'Where is my package? Tracking says "in transit" since Tuesday.',
  'The cat sat on the mat; the dog ran /home through the park.',
  'Use the `select` element for dropdowns, and `<option>` for each choice.',
  'Temperature range: -40 to +85 °C, humidity 5–95 %.',
  'Meeting notes:\n- review Q3 numbers\n- hire 2 engineers\n- order from the new supplier',
  'The union rep will select a date for the vote; please drop by the office.',
  'Or maybe and-or logic is what you need: a=1 or b=2.',
  'Is 1=1 in every number system? Asking for a math class.',
  'Visit https://www.example.com/products?id=42&ref=mail for details.',
  'He said: "I\'ll be there at 10", then left.',
];
const snippets = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: documentation snippets hold template literals
  'const res = await fetch(`${base}/users`, { method: "POST", body: JSON.stringify(user) });',
  'SELECT id, name FROM customers WHERE created_at > $1 ORDER BY name LIMIT 50',
  'for i in range(10):\n    print(i)',
  'curl -X POST https://api.example.com/v1/orders -H "Content-Type: application/json" -d @order.json',
  'git clone https://github.com/example/repo.git && cd repo && npm install',
  '<div class="card"><h2>Title</h2><p>Body text</p></div>',
  'function add(a, b) { return a + b; }',
  'docker run -p 8080:80 nginx:1.27',
  'import pandas as pd\ndf = pd.read_csv("data.csv")',
  'if (user.isAdmin && !user.locked) { grantAccess(); }',
  "UPDATE products SET price = price * 1.1 WHERE category = 'books'",
  'kubectl get pods -n production',
  'ls -la ~/projects',
  'The regex ^[a-z0-9_-]{3,16}$ checks usernames.',
  'Use {{ user.name }} in the email template to insert the name.',
  'Markdown: **bold**, _italic_, [link](https://example.com), `code`.',
];
const webhooks = [
  'https://hooks.slack.com/services/T024BE7LD/B01ABCD2EFG/xyz123abc456',
  'https://discord.com/api/webhooks/123456789012345678/abcDEF_ghi-JKL',
  'https://example.com/webhooks/stripe?source=portcullis',
  'https://api.partner.io/v2/callbacks/orders/7f3e',
  'https://webhook.site/3e2a1c4b-1111-2222-3333-444455556666',
  'https://my-app.herokuapp.com/hooks/github',
];
const pixel =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const uas = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'okhttp/4.12.0',
  'MyApp/3.2.1 (Android 14; Pixel 8)',
  'python-requests/2.32.3',
  'PostmanRuntime/7.39.0',
];
const searches = [
  'drop shipping',
  'select committee report',
  'union jack flag',
  "o'reilly books",
  'c++ tutorial',
  'rock & roll',
  'café crème',
  '50% off',
  'where is my order',
  'script writing course',
  'alert bracelet',
  'from A to B',
  'how to exec a plan',
  'table tennis',
  'null pointer exception java',
  'iphone 15 <128gb>',
  'sleep apnea',
  'order by price',
];

interface Row {
  case: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body: string | null;
}
const rows: Row[] = [];
const common = () => ({
  'User-Agent': pick(uas),
  Accept: 'application/json',
  'Accept-Language': pick(['en-US,en;q=0.9', 'fr-FR,fr;q=0.8', 'de-DE', 'ja-JP']),
});
const json = (c: string, method: string, target: string, body: unknown, extra: Record<string, string> = {}) =>
  rows.push({
    case: c,
    method,
    target,
    headers: { ...common(), 'Content-Type': 'application/json', ...extra },
    body: JSON.stringify(body),
  });

for (let i = 0; i < 70; i++) {
  json('json-profile', pick(['POST', 'PUT', 'PATCH']), `/api/v1/users/${uuid()}`, {
    name: pick(names),
    email: `user${int(9999)}@example.com`,
    bio: pick(texts),
    age: 18 + int(60),
    balance: pick([1e21, Number('12345678901234567890'), -0.000001, Math.PI, Number('9007199254740993')]),
    tags: [pick(['admin', 'beta', 'vip', 'select', 'drop']), pick(['union', 'or', 'and', 'not'])],
    address: {
      line1: `${int(999)} Main St.`,
      city: pick(['Zürich', 'São Paulo', "L'Aquila", 'New York']),
      zip: String(10000 + int(89999)),
    },
    preferences: {
      newsletter: rnd() > 0.5,
      theme: pick(['dark', 'light']),
      locale: pick(['en', 'fr', 'zh-CN']),
    },
  });
}
for (let i = 0; i < 40; i++) {
  json('json-docs', 'POST', '/api/v1/articles', {
    title: pick(['How to query your data', 'Shell tips', 'Writing templates', 'Getting started']),
    body: `${pick(texts)}\n\n\`\`\`\n${pick(snippets)}\n\`\`\`\n`,
    example: pick(snippets),
    published: rnd() > 0.5,
  });
}
for (let i = 0; i < 30; i++) {
  json('json-webhook', 'POST', '/api/v1/webhooks', {
    url: pick(webhooks),
    events: ['order.created', 'order.updated', pick(['invoice.paid', 'user.deleted'])],
    secret: hex(32),
    description: pick(texts),
  });
}
for (let i = 0; i < 20; i++) {
  json('json-image', 'POST', '/api/v1/uploads', {
    filename: `photo_${int(9999)}.png`,
    data: `data:image/png;base64,${pixel}`,
    raw: Buffer.from(Array.from({ length: 300 }, () => int(256))).toString('base64'),
    caption: pick(texts),
  });
}
for (let i = 0; i < 15; i++) {
  json('json-graphql', 'POST', '/graphql', {
    query: pick([
      'query GetUser($id: ID!) { user(id: $id) { id name orders(first: 10) { edges { node { id total } } } } }',
      'mutation AddItem($input: CartItemInput!) { addToCart(input: $input) { cart { id items { sku qty } } } }',
      'query { products(filter: { category: "books", price: { lt: 20 } }) { id title } }',
    ]),
    variables: { id: uuid(), input: { sku: `SKU-${int(99999)}`, qty: 1 + int(5) } },
  });
}
for (let i = 0; i < 15; i++) {
  json('json-filters', 'POST', '/api/v1/search', {
    filter: {
      and: [
        { field: 'status', op: 'eq', value: 'active' },
        { field: 'price', op: 'lt', value: 100 },
      ],
    },
    sort: [{ field: 'created_at', order: 'desc' }],
    q: pick(searches),
    page: { size: 50, cursor: Buffer.from(`{"id":${int(99999)}}`).toString('base64') },
  });
}
for (let i = 0; i < 50; i++) {
  const q = new URLSearchParams({
    q: pick(searches),
    page: String(1 + int(20)),
    sort: pick(['-created_at', 'price', 'name']),
  });
  if (rnd() > 0.5) q.set('filter[status]', pick(['active', 'archived']));
  if (rnd() > 0.7) q.set('redirect', pick(['/account', 'https://www.example.com/thanks']));
  if (rnd() > 0.7) q.set('fields', 'id,name,email');
  rows.push({
    case: 'get-search',
    method: 'GET',
    target: `/api/v1/products?${q.toString()}`,
    headers: {
      ...common(),
      Referer: `https://shop.example.com/search?q=${encodeURIComponent(pick(searches))}`,
      Cookie: `session=${hex(32)}; _ga=GA1.2.${int(1e9)}.${int(1e9)}; theme=dark; cart=${uuid()}`,
    },
    body: null,
  });
}
for (let i = 0; i < 30; i++) {
  rows.push({
    case: 'get-resource',
    method: pick(['GET', 'GET', 'DELETE', 'HEAD']),
    target: pick([
      `/api/v2/orders/${int(1e6)}/items/${int(100)}`,
      `/files/report-${2020 + int(5)}-Q${1 + int(4)}.pdf`,
      `/search/caf%C3%A9%20cr%C3%A8me`,
      `/users/${uuid()}/avatar.png`,
      `/v1/accounts/acct_${hex(16)}`,
      `/api/v1/select/items`,
      `/api/union/members`,
      `/docs/how-to/drop-tables-safely`,
    ]),
    headers: {
      ...common(),
      'If-None-Match': `W/"${hex(16)}"`,
      Authorization: `Bearer eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: uuid(), scope: 'read write' })).toString('base64url')}.${hex(43)}`,
    },
    body: null,
  });
}
for (let i = 0; i < 35; i++) {
  const f = new URLSearchParams({
    name: pick(names),
    email: `a${int(999)}@example.net`,
    message: pick(texts),
    subscribe: 'on',
  });
  rows.push({
    case: 'form',
    method: 'POST',
    target: '/contact',
    headers: { ...common(), 'Content-Type': 'application/x-www-form-urlencoded' },
    body: f.toString(),
  });
}
for (let i = 0; i < 25; i++) {
  const b = `----WebKitFormBoundary${hex(16)}`;
  const body = [
    `--${b}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${pick(texts)}\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="file"; filename="notes-${int(99)}.txt"\r\nContent-Type: text/plain\r\n\r\n${pick(texts)}\n${pick(snippets)}\r\n`,
    `--${b}\r\nContent-Disposition: form-data; name="data"; filename="export.csv"\r\nContent-Type: text/csv\r\n\r\nid,name,amount\n1,${pick(names)},12.50\n2,"Smith, John",-3\r\n`,
    `--${b}--\r\n`,
  ].join('');
  rows.push({
    case: 'multipart',
    method: 'POST',
    target: '/api/v1/attachments',
    headers: { ...common(), 'Content-Type': `multipart/form-data; boundary=${b}` },
    body,
  });
}
for (let i = 0; i < 15; i++) {
  rows.push({
    case: 'xml',
    method: 'POST',
    target: '/soap/orders',
    headers: { ...common(), 'Content-Type': 'text/xml', SOAPAction: '"urn:CreateOrder"' },
    body: `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><CreateOrder><Customer>${pick(names).replace("'", '&apos;')}</Customer><Note>${pick(texts).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</Note><Amount>${int(9999)}.99</Amount></CreateOrder></soap:Body></soap:Envelope>`,
  });
}
for (let i = 0; i < 15; i++) {
  rows.push({
    case: 'text',
    method: 'POST',
    target: '/api/v1/notes',
    headers: { ...common(), 'Content-Type': 'text/plain; charset=utf-8' },
    body: `${pick(texts)}\n${pick(texts)}`,
  });
}

const out = join(dirname(fileURLToPath(import.meta.url)), 'requests.jsonl');
writeFileSync(out, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
console.log(`${rows.length} requests written to ${out}`);
