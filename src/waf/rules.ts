/**
 * The rules that ship with the gateway, as data. Each has an id, a category, a paranoia level
 * (1 = few false positives, 4 = most detection) and a score added to the request's anomaly
 * score when it matches. Patterns run on normalised, lower-cased values (src/waf/normalize.ts),
 * on V8's RegExp for speed: each is written without backreferences or lookarounds and runs on
 * pumped adversarial input in test/waf-builtin-linear.test.ts. User rules run on RE2.
 */

export type Category =
  | 'sqli'
  | 'xss'
  | 'traversal'
  | 'rfi'
  | 'rce'
  | 'ssrf'
  | 'xxe'
  | 'ldap'
  | 'nosql'
  | 'ssti'
  | 'ssi'
  | 'log4shell'
  | 'shellshock'
  | 'crlf'
  | 'protocol'
  | 'scanner'
  | 'graphql'
  | 'deserialization';

/** Where a value came from. `name` is a parameter, field or header name. */
export type Location = 'path' | 'query' | 'header' | 'cookie' | 'body' | 'name';

export interface RuleDef {
  id: string;
  category: Category | (string & {});
  paranoia: number;
  score: number;
  description: string;
  /** A regular expression source, run case-insensitively on each normalised form. */
  pattern?: string;
  /** A built-in operator instead of a pattern. */
  op?: 'ssrf-host';
  /** Limit to these locations; absent: every location. */
  targets?: Location[];
  /** Limit to these header names (lower case) when the location is `header`. */
  headers?: string[];
}

const CRITICAL = 5;
const ERROR = 4;
const WARNING = 3;

/** Commands that are rarely English words: enough after any shell separator. */
const SHELL_CMDS =
  'cat|ls|id|whoami|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|ping|getent|uname|rm|chmod|chown|powershell|pwsh|cmd|python\\d?|perl|php|ruby|nslookup|dig|sleep|timeout|ps|printenv|base64|sudo|mkfifo|telnet|tftp|scp|ssh|ipconfig|ifconfig|systeminfo|tasklist|certutil|bitsadmin|awk|sed|nohup|crontab|useradd|passwd|echo|printf|rev|xargs|env|uname';
/** Commands that are also English words: only with an argument that looks like one. */
const WEAK_CMDS =
  'set|dir|type|more|less|head|tail|find|host|kill|touch|export|net|su|ftp|time|exit|start|del|copy|move';

const EVENTS =
  'abort|activate|afterprint|afterscriptexecute|animation\\w+|auxclick|before\\w+|begin|blur|bounce|can\\w+|change|click|close|content\\w+|copy|cuechange|cut|dblclick|drag\\w*|drop|durationchange|emptied|end|ended|error|finish|focus\\w*|formdata|fullscreen\\w*|hashchange|input|invalid|key\\w+|load\\w*|message|mouse\\w+|move\\w*|page\\w+|paste|pause|play\\w*|pointer\\w+|popstate|progress|ratechange|readystatechange|repeat|reset|resize|scroll\\w*|search|seek\\w+|select\\w*|show|stalled|start|storage|submit|suspend|timeupdate|toggle|touch\\w+|transition\\w+|unload|volumechange|waiting|wheel';

const JS_SINKS = 'alert|prompt|confirm|eval|settimeout|setinterval|atob';

export const BUILTIN_RULES: readonly RuleDef[] = [
  // SQL injection
  {
    id: '942100',
    category: 'sqli',
    paranoia: 1,
    score: CRITICAL,
    description: 'UNION-based SELECT',
    pattern: '\\bunion(?:\\s|\\(|\\))+(?:all\\s+|distinct\\s+)?\\(?\\s*select\\b',
  },
  {
    id: '942110',
    category: 'sqli',
    paranoia: 1,
    score: CRITICAL,
    description: 'Tautology or comparison after a breakout',
    pattern:
      '[\'"`)]\\s*(?:or|and|xor|\\|\\||&&)\\s+(?:not\\s+)?\\(?\\s*(?:\\d+|\'[^\']{0,40}\'|"[^"]{0,40}"|\\w+\\s*\\()\\s*(?:=|<>|!=|<=?|>=?|like\\b|rlike\\b|regexp\\b|is\\b|between\\b)',
  },
  {
    id: '942120',
    category: 'sqli',
    paranoia: 1,
    score: CRITICAL,
    description: 'Time-based blind injection',
    pattern:
      '\\b(?:sleep|pg_sleep|benchmark|dbms_lock\\.sleep|randomblob)\\s*\\(\\s*\\d|\\bwaitfor\\s+(?:delay|time)\\b',
  },
  {
    id: '942130',
    category: 'sqli',
    paranoia: 1,
    score: CRITICAL,
    description: 'Catalog and dangerous procedure access',
    pattern:
      '\\b(?:information_schema|pg_catalog|sysobjects|syscolumns|mysql\\.user|sqlite_master|xp_cmdshell|sp_executesql|sp_oacreate|sys\\.fn_\\w+|load_file\\s*\\(|into\\s+(?:out|dump)file)\\b',
  },
  {
    id: '942140',
    category: 'sqli',
    paranoia: 1,
    score: CRITICAL,
    description: 'Stacked query',
    pattern:
      ';\\s*(?:declare\\s+@|exec(?:ute)?\\s+[\\w@(\\[]|drop\\s+(?:table|database|schema|user|view|function|procedure)\\b|insert\\s+into\\b|update\\s+[\\w.\\[\\]`]+\\s+set\\b|delete\\s+from\\b|shutdown\\b|create\\s+(?:table|user|function|procedure|trigger)\\b|alter\\s+(?:table|user|database)\\b|truncate\\s+table\\b|select\\s+(?:@|\\d|\\*|sleep|if\\s*\\(|case\\b|char|null|pg_sleep|[\\w,\\s]{1,60}\\bfrom\\s+\\w))',
  },
  {
    id: '942150',
    category: 'sqli',
    paranoia: 1,
    score: CRITICAL,
    description: 'MySQL executable comment',
    pattern: '/\\*!\\d*\\s*\\w',
  },
  {
    id: '942160',
    category: 'sqli',
    paranoia: 1,
    score: WARNING,
    description: 'SQL function often used in injection',
    pattern:
      '\\b(?:group_concat|concat_ws|json_extract|json_depth|extractvalue|updatexml|char|chr|ascii|substring|substr|mid|hex|unhex|version|database|user|current_user|system_user|schema|convert|cast)\\s*\\(',
  },
  {
    id: '942170',
    category: 'sqli',
    paranoia: 1,
    score: WARNING,
    description: 'Quote or parenthesis breakout followed by SQL',
    pattern:
      '[\'")]\\s*(?:(?:;|\\)|\\|\\||\\+|-{2}|#|/\\*)\\s*)?(?:or|and|union|select|order\\s+by|group\\s+by|having|insert|exec)\\b',
  },
  {
    id: '942180',
    category: 'sqli',
    paranoia: 1,
    score: WARNING,
    description: 'SELECT ... FROM',
    pattern: '\\bselect\\b[\\s(]+[\\w@*.`\'",()|: ]{1,120}?\\bfrom\\s+[\\w.`\\[]+',
  },
  {
    id: '942190',
    category: 'sqli',
    paranoia: 1,
    score: WARNING,
    description: 'Comment terminating a query',
    pattern: '[\'"`)]\\s*(?:--|#|/\\*)',
  },
  {
    id: '942200',
    category: 'sqli',
    paranoia: 1,
    score: WARNING,
    description: 'SQL variable or system variable',
    pattern: '@@\\w+|\\bdeclare\\s+@\\w+|\\bexec\\s+(?:master|sp_|xp_)',
  },
  {
    id: '942210',
    category: 'sqli',
    paranoia: 2,
    score: WARNING,
    description: 'Hex literal',
    pattern: '\\b0x[0-9a-f]{4,}\\b',
  },

  // Cross-site scripting
  {
    id: '941100',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'Script tag',
    pattern: '<\\s*(?:/\\s*)?script\\b',
  },
  {
    id: '941110',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'Event handler inside a tag',
    pattern: `<[a-z!][^>]*[\\s/"'+;\`\\\\]on(?:${EVENTS})\\s*=`,
  },
  {
    id: '941120',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'Event handler after an attribute breakout',
    pattern: `(?:^|[\\s"'/;+\`])on(?:${EVENTS})\\s*=\\s*[^\\s]`,
  },
  {
    id: '941130',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'javascript:, vbscript: or data:text/html URL',
    pattern:
      '(?:j\\s*a\\s*v\\s*a\\s*s\\s*c\\s*r\\s*i\\s*p\\s*t|v\\s*b\\s*s\\s*c\\s*r\\s*i\\s*p\\s*t|l\\s*i\\s*v\\s*e\\s*s\\s*c\\s*r\\s*i\\s*p\\s*t)\\s*:[^\\s]|\\bdata\\s*:\\s*(?:text/html|text/xml|image/svg\\+xml|application/(?:x-)?javascript)',
  },
  {
    id: '941140',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'Dangerous HTML element',
    pattern:
      '<\\s*(?:iframe|frame|frameset|object|embed|applet|svg|math|isindex|base|meta|link|style|form|details|marquee|xss\\w*|video|audio|source|img|image|body|input|textarea|select|button|keygen|template|portal|animate\\w*|set)\\b[^>]*?(?:[\\s/]\\w+\\s*=|>|$)',
  },
  {
    id: '941150',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'JavaScript sink called',
    pattern: `(?:^|[^\\w.$])(?:\\(\\s*)?(?:${JS_SINKS})\\s*(?:\\)\\s*)?(?:\\?\\.\\s*)?(?:\\(|\`)`,
  },
  {
    id: '941160',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'JavaScript sink through call/apply/bind',
    pattern: `\\b(?:${JS_SINKS}|constructor)\\s*\\.\\s*(?:call|apply|bind)\\s*\\(`,
  },
  {
    id: '941170',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'DOM property access used by exploits',
    pattern:
      '\\b(?:document|window|self|top|parent|this)\\s*(?:\\?\\.|\\.)\\s*(?:cookie|domain|location|write|writeln|body\\.innerhtml|createelement|onerror)\\b|\\b(?:document|window|self|top|this)\\s*\\[\\s*[\'"`]',
  },
  {
    id: '941180',
    category: 'xss',
    paranoia: 1,
    score: CRITICAL,
    description: 'Prototype pollution or constructor gadget',
    pattern: '__proto__|\\bconstructor\\s*\\(\\s*[\'"`]|\\bconstructor\\s*\\[\\s*[\'"`]prototype',
  },
  {
    id: '941190',
    category: 'xss',
    paranoia: 2,
    score: WARNING,
    description: 'Breakout from an attribute or element',
    pattern: '["\'`]\\s*>\\s*<|["\']\\s*\\)+\\s*;|-->\\s*<|</\\s*(?:textarea|title|style|noscript|xmp)\\b',
  },
  {
    id: '941200',
    category: 'xss',
    paranoia: 1,
    score: WARNING,
    description: 'String.fromCharCode and similar',
    pattern: '\\bstring\\s*\\.\\s*fromcharcode\\b|\\bunescape\\s*\\(|\\bexpression\\s*\\(',
  },

  // Traversal and file inclusion
  {
    id: '930100',
    category: 'traversal',
    paranoia: 1,
    score: CRITICAL,
    description: 'Path traversal',
    pattern: '(?:^|[/\\\\=\\s"\'])\\.{2,}[/\\\\]',
  },
  {
    id: '930120',
    category: 'traversal',
    paranoia: 1,
    score: CRITICAL,
    description: 'Sensitive file',
    pattern:
      '(?:/etc/(?:passwd|shadow|group|hosts|issue|sudoers|crontab|\\.?htpasswd)|/proc/(?:self|\\d+)/|boot\\.ini|win\\.ini|system32[/\\\\]|ntuser\\.dat|\\\\\\\\[^\\\\]+\\\\\\w\\$|[/\\\\]\\.(?:ssh|aws|git|env|htaccess|htpasswd)\\b|web-inf[/\\\\]|\\bwp-config\\.php)',
  },
  {
    id: '931100',
    category: 'rfi',
    paranoia: 1,
    score: CRITICAL,
    description: 'Dangerous URL scheme',
    pattern:
      '\\b(?:file|netdoc|expect|phar|php|zip|glob|gopher|dict|jar|ldap|tftp|ogg|rar|compress\\.\\w+|data)\\s*:(?:/|[^\\s/]{0,30}base64)',
  },

  // OS command injection
  {
    id: '932100',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Command after a shell separator',
    pattern: `(?:[;|]|&&|\\$\\(|^\\s*&|\\|\\|)\\s*(?:\\w+=\\S*\\s+)?(?:/(?:usr/)?(?:s?bin)/)?(?:${SHELL_CMDS})(?:\\s|$|[;&|<>\`'"])`,
  },
  {
    id: '932101',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Command after a line break in a URL or header',
    pattern: `[\\r\\n]\\s*(?:/(?:usr/)?(?:s?bin)/)?(?:${SHELL_CMDS})(?:\\s|$|[;&|<>\`'"])`,
    targets: ['path', 'query', 'header', 'cookie'],
  },
  {
    id: '932102',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Word-like command with a shell-like argument after a separator',
    pattern: `(?:[;|]|&&|\\$\\(|\\|\\|)\\s*(?:${WEAK_CMDS})\\s+(?:/[a-z]\\b|-{1,2}[a-z]|[/~$%]|[a-z]:\\\\)`,
  },
  {
    id: '932110',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Command substitution',
    pattern: `\\$\\(\\(|\\$\\(\\s*(?:${SHELL_CMDS}|printf|\\w+\\s)|(?:^|[=;|&(:])\\s*\`\\s*(?:${SHELL_CMDS})\\b`,
  },
  {
    id: '932120',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Shell variable tricks',
    pattern: '\\$\\{?ifs\\b|\\$\\{?path:\\d|\\$\\{[#!]?\\w+:[-+=?]',
  },
  {
    id: '932130',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Code execution function',
    pattern:
      '\\b(?:system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec|phpinfo|assert|create_function|call_user_func|runtime\\s*\\.\\s*getruntime|processbuilder|os\\.system|subprocess\\.\\w+|child_process|execsync|spawnsync|__import__)\\s*\\(|\\$\\{\\s*@|\\b(?:eval|execute)\\s*\\(',
  },
  {
    id: '932140',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Download and run',
    pattern:
      '\\b(?:wget|curl|fetch|tftp|certutil)\\b[^\\n]{0,40}\\bhttps?://[^\\s]+\\.(?:sh|php|txt|pl|py|exe|ps1|jsp|asp)\\b|\\brename\\s+\\S+\\.txt\\s+\\S+\\.php',
  },
  {
    id: '932150',
    category: 'rce',
    paranoia: 1,
    score: CRITICAL,
    description: 'Git and tool argument injection',
    pattern:
      '--(?:exec|upload-pack|receive-pack|output|config)=|\\bserver\\.scripttimeout\\b|\\bon\\s+error\\s+resume\\s+next\\b',
  },
  {
    id: '932160',
    category: 'shellshock',
    paranoia: 1,
    score: CRITICAL,
    description: 'Shellshock function definition',
    pattern: '\\(\\s*\\)\\s*\\{\\s*[^}]{0,20};\\s*\\}\\s*;',
  },
  {
    id: '932170',
    category: 'rce',
    paranoia: 1,
    score: WARNING,
    description: 'Shell command with an absolute path argument',
    pattern: `(?:^|\\s)(?:${SHELL_CMDS})\\s+[-\\w ]{0,40}?(?:/(?:etc|bin|usr|tmp|var|dev|proc|root|home)\\b|[a-z]:\\\\)`,
  },

  // Deserialization
  {
    id: '944100',
    category: 'deserialization',
    paranoia: 1,
    score: CRITICAL,
    description: 'Unsafe YAML or object deserialization tags',
    pattern:
      '!!python/|!!javax?\\.|!!ruby/|\\bo:\\d+:"[\\w\\\\]+":\\d+:\\{|\\brO0AB|\\bjava\\.lang\\.(?:runtime|processbuilder)\\b',
  },

  // SSRF
  {
    id: '934100',
    category: 'ssrf',
    paranoia: 1,
    score: CRITICAL,
    description: 'URL or host pointing at loopback, link-local, metadata or private ranges',
    op: 'ssrf-host',
  },
  {
    id: '934110',
    category: 'ssrf',
    paranoia: 1,
    score: CRITICAL,
    description: 'Out-of-band interaction domain',
    pattern:
      '\\b(?:burpcollaborator\\.net|oastify\\.com|oast\\.(?:me|pro|live|site|online|fun)|interact\\.sh|interactsh\\.com|dnslog\\.cn|ceye\\.io|requestbin\\.net|canarytokens\\.com|ngrok\\.io|pipedream\\.net)\\b',
  },

  // XXE and XML
  {
    id: '935100',
    category: 'xxe',
    paranoia: 1,
    score: CRITICAL,
    description: 'DOCTYPE with an internal subset or external identifier',
    pattern: '<!doctype\\s+[^>]*(?:\\[|\\bsystem\\b|\\bpublic\\b)',
  },
  {
    id: '935110',
    category: 'xxe',
    paranoia: 1,
    score: CRITICAL,
    description: 'Entity declaration',
    pattern: '<!entity\\b',
  },
  {
    id: '935120',
    category: 'xxe',
    paranoia: 1,
    score: CRITICAL,
    description: 'External schema or XInclude',
    pattern: '<\\w+:include\\b|\\bschemalocation\\s*=|\\bnonamespaceschemalocation\\s*=',
  },
  {
    id: '935130',
    category: 'xxe',
    paranoia: 1,
    score: CRITICAL,
    description: 'UTF-7 or other evasive XML encoding',
    pattern: '<\\?xml[^>]*encoding\\s*=\\s*["\']?(?:utf-7|utf7|ibm037|cp037)|\\+ad[w4]a?[a-z0-9]*-',
  },

  // SSI, SSTI, Log4Shell
  {
    id: '936100',
    category: 'ssi',
    paranoia: 1,
    score: CRITICAL,
    description: 'Server-side include directive',
    pattern: '<!--\\s*#\\s*(?:exec|include|echo|config|set|printenv|fsize|flastmod|if)\\b',
  },
  {
    id: '936110',
    category: 'ssti',
    paranoia: 1,
    score: CRITICAL,
    description: 'Template expression with arithmetic or object access',
    pattern:
      '(?:\\{\\{|\\$\\{|#\\{|\\{%|<%=?|\\[\\[|@\\()\\s*[^}%\\]]{0,60}?(?:\\d+\\s*[*+/-]\\s*\\d+|__\\w+__|\\.__|\\b(?:self|config|request|lipsum|cycler|joiner|namespace|getclass|class\\.forname|runtime|t\\(java)\\b)',
  },
  {
    id: '936120',
    category: 'ssti',
    paranoia: 1,
    score: CRITICAL,
    description: 'Template engine directive',
    pattern:
      '<#(?:assign|import|include)\\b|freemarker\\.template|\\?new\\s*\\(|\\{%\\s*(?:import|include|load|debug)\\b|\\bobjectconstructor\\b|\\{php\\}|\\$\\{\\s*\\w+\\s*\\(',
  },
  {
    id: '937100',
    category: 'log4shell',
    paranoia: 1,
    score: CRITICAL,
    description: 'Log4j lookup',
    pattern:
      '\\$\\{\\s*(?:jndi|ldap|rmi|dns|lower|upper|env|sys|java|date|ctx|main|bundle|base64|web|docker|k8s|spring|log4j|event|marker|sd|map)\\s*:|\\$\\{[^}]{0,30}\\$\\{|\\$\\{\\s*::-',
  },

  // LDAP and NoSQL
  {
    id: '938100',
    category: 'ldap',
    paranoia: 1,
    score: CRITICAL,
    description: 'LDAP filter injection',
    pattern:
      '\\(\\s*[|&!]\\s*\\(|\\)\\s*\\(\\s*[|&!]|\\bobjectclass\\s*=\\s*\\*|\\(\\s*\\w+\\s*=\\s*\\*\\s*\\)|:\\d+\\.\\d+\\.[\\d.]+:=',
  },
  {
    id: '938200',
    category: 'nosql',
    paranoia: 1,
    score: CRITICAL,
    description: 'MongoDB operator',
    pattern:
      '(?:^|[\\s{,\'"\\[])\\$(?:where|ne|gt|gte|lt|lte|nin|in|or|and|not|nor|regex|exists|expr|function|elemmatch|accumulator|lookup|jsonschema)\\b\\s*[:"\'\\]=]?',
  },
  {
    id: '938210',
    category: 'nosql',
    paranoia: 1,
    score: CRITICAL,
    description: 'Server-side JavaScript in a query',
    pattern:
      '\\bdb\\s*\\.\\s*\\w+\\s*\\.\\s*(?:insert|find|update|remove|drop|delete|aggregate)\\w*\\s*\\(|\\bdo\\s*\\{[^}]{0,80}\\}\\s*while\\s*\\(|;\\s*var\\s+\\w+\\s*=\\s*new\\s+\\w+|\\bthis\\s*\\.\\s*\\w+\\s*(?:==|!=)',
  },

  // CRLF, header and mail injection
  {
    id: '921100',
    category: 'crlf',
    paranoia: 1,
    score: CRITICAL,
    description: 'CR or LF followed by a header',
    pattern: '[\\r\\n]\\s*[\\w-]{2,40}\\s*:',
    targets: ['path', 'query', 'header', 'cookie', 'name'],
  },
  {
    id: '921110',
    category: 'crlf',
    paranoia: 1,
    score: CRITICAL,
    description: 'Response splitting in a body field',
    pattern:
      '[\\r\\n]\\s*(?:set-cookie|location|content-type|content-length|transfer-encoding|refresh|x-[\\w-]+)\\s*:|[\\r\\n]\\s*http/\\d',
    targets: ['body'],
  },
  {
    id: '921120',
    category: 'crlf',
    paranoia: 1,
    score: CRITICAL,
    description: 'Mail or IMAP command after a line break',
    pattern:
      '[\\r\\n]\\s*(?:rcpt\\s+to|mail\\s+from|helo|ehlo|quit|data|vrfy|expn|\\w{1,6}\\s+(?:capability|fetch|login|select|examine|uid|store|search|logout|list|append))\\b',
  },
  {
    id: '921130',
    category: 'crlf',
    paranoia: 1,
    score: ERROR,
    description: 'Control character in path or header',
    pattern: '[\\r\\n\\u0000]',
    targets: ['path', 'header'],
  },

  // Scanners and API abuse
  {
    id: '913100',
    category: 'scanner',
    paranoia: 1,
    score: CRITICAL,
    description: 'Security scanner user agent',
    pattern:
      '\\b(?:sqlmap|nikto|nuclei|openvas|fuzz faster u fool|ffuf|gobuster|dirbuster|dirb|wfuzz|masscan|nmap|zgrab|wpscan|acunetix|netsparker|nessus|w3af|arachni|havij|jaeles|commix|xsstrike|burp\\s?suite|\\w+\\.nasl\\b|winrm client)',
    targets: ['header'],
    headers: ['user-agent'],
  },
  {
    id: '913110',
    category: 'scanner',
    paranoia: 1,
    score: CRITICAL,
    description: 'Injection in the user agent',
    pattern: '\\.nasl\\b|\\broot@[\\w.-]+\\.\\w+',
    targets: ['header'],
    headers: ['user-agent', 'referer'],
  },
  {
    id: '939100',
    category: 'graphql',
    paranoia: 1,
    score: CRITICAL,
    description: 'GraphQL introspection',
    pattern: '\\b__(?:schema|type)\\s*[{(]',
  },
];

/** Protocol checks the engine runs on the request as a whole, with their ids and scores. */
export const PROTOCOL_RULES = {
  method: {
    id: '920100',
    category: 'protocol',
    paranoia: 1,
    score: CRITICAL,
    description: 'Unknown HTTP method',
  },
  encoding: {
    id: '920110',
    category: 'protocol',
    paranoia: 1,
    score: CRITICAL,
    description: 'Body does not match its Content-Encoding',
  },
  smuggling: {
    id: '920120',
    category: 'protocol',
    paranoia: 1,
    score: CRITICAL,
    description: 'Transfer-Encoding other than chunked, or with Content-Length',
  },
  multipart: {
    id: '920130',
    category: 'protocol',
    paranoia: 1,
    score: CRITICAL,
    description: 'Multipart body without a boundary or with a broken structure',
  },
} as const;
