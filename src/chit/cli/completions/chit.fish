# fish completion for chit.
# Generated from the chit command line by tools/generate.py; do not edit.
# Install: copy to ~/.config/fish/completions/chit.fish

function __chit_spec --description 'what the chit command at path $argv[1] takes'
    switch "$argv[1]"
        case ''
            set -g __chit_subs 'append' 'chat' 'compact' 'completion' 'config' 'diff' 'doctor' 'export' 'fork' 'gc' 'import' 'index' 'load' 'ls' 'new' 'pick' 'pop' 'projects' 'rename' 'replace' 'restore' 'resume' 'rewind' 'rm' 'search' 'show' 'sources' 'state' 'stats' 'sync' 'tag' 'trash' 'tree' 'undo' 'untag'
            set -g __chit_cmds 'append	Append a message to a session.' 'chat	Chat with a model in the REPL.' 'compact	Rewrite a session file without hidden messages and bad lines.' 'completion	Print the completion script for a shell.' 'config	Show the config file\'s path and the settings in force.' 'diff	Compare two sessions turn by turn: where they part, then how.' 'doctor	Check every session file, and the index against them.' 'export	Export a session as Markdown, HTML, text or JSON.' 'fork	Copy a session (up to a turn) into a new one and make it current.' 'gc	Move stale sessions to the trash (running ones are kept).' 'import	Import a session snapshot, or another tool\'s sessions.' 'index	Bring the search index up to date with the session files now.' 'load	Resume a session: make it current and open the REPL on it.' 'ls	List sessions, newest first (updated within --since/--until).' 'new	Start a new session and make it current.' 'pick	Choose a session in the picker and print its id.' 'pop	Drop the last message.' 'projects	List projects, with their paths and session counts.' 'rename	Set a session\'s title ("" returns to the automatic one).' 'replace	Make a session hold exactly the messages in FILE.' 'restore	Bring a session back from the trash.' 'resume	Reopen a session in the tool that wrote it.' 'rewind	Drop the turns after TURN.' 'rm	Move sessions to the trash (`chit restore` brings them back).' 'search	Search every project (or -p one) for messages with all the words.' 'show	Print a session\'s transcript with turn numbers.' 'sources	List the tools chit imports from: found here, and enabled.' 'state	Show or set a session\'s run state and state map.' 'stats	Sessions, turns, messages, tokens and cost; activity per day.' 'sync	Sync sessions with a private git remote (docs/sync.md).' 'tag	Add tags to a session.' 'trash	List the trash, or empty it with --empty.' 'tree	Draw the fork tree around a session: parents, forks, turns.' 'undo	Bring back what the last rewind, pop or replace hid.' 'untag	Remove tags from a session.'
            set -g __chit_opts '--json	Print results as JSON (every command but chat).' '--project	Work in project NAME (default: the git root or directory you are in).' '-p	Work in project NAME (default: the git root or directory you are in).' '--version	Print the version and exit.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args
        case 'append'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--role	Who wrote the message: system, user, assistant or tool.' '-r	Who wrote the message: system, user, assistant or tool.' '--key	Append to the session with this key, creating it on first use.' '-k	Append to the session with this key, creating it on first use.' '--model	Model that wrote the message.' '-m	Model that wrote the message.' '--invocation-id	Group the messages of one model call or tool run under ID.' '--input-tokens	Prompt tokens the model call used.' '--output-tokens	Tokens the model call produced.' '--meta	Metadata; a VALUE that is valid JSON keeps its type (repeatable).' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--role:role' '-r:role' '--key:-' '-k:-' '--model:-' '-m:-' '--invocation-id:-' '--input-tokens:-' '--output-tokens:-' '--meta:-' '--project:project' '-p:project'
            set -g __chit_args 'ref' '-'
        case 'chat'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--new	Start a new session instead of the current one.' '-n	Start a new session instead of the current one.' '--model	Model to talk to (a name from the config, a model name, or echo).' '-m	Model to talk to (a name from the config, a model name, or echo).' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--model:-' '-m:-' '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'compact'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'completion'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args 'shell'
        case 'config'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args
        case 'diff'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref' 'ref'
        case 'doctor'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--repair	Fix what can be fixed (compacts damaged sessions, rebuilds index rows).' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args
        case 'export'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--format	The format: json, jsonl, md, html or txt; json is a snapshot `chit import` takes back.' '-f	The format: json, jsonl, md, html or txt; json is a snapshot `chit import` takes back.' '--output	Write to the file PATH instead of stdout (with --all: into the directory PATH).' '-o	Write to the file PATH instead of stdout (with --all: into the directory PATH).' '--all	Export every session (of every project, or of -p\'s) into -o\'s directory, one file each.' '-a	Export every session (of every project, or of -p\'s) into -o\'s directory, one file each.' '--force	Overwrite files that exist.' '--redact	Replace API keys, tokens and private keys found by well-known patterns with a marker; say what was replaced.' '--since	Only from WHEN on: an age (90m, 2h, 3d, 2w), today, yesterday, or an ISO date or datetime.' '--until	Only up to WHEN (read as --since reads it).' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--format:format' '-f:format' '--output:file' '-o:file' '--since:-' '--until:-' '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'fork'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--at	Copy turns 0..TURN (default: all).' '--title	The new title (default: the old one followed by " (fork)").' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--at:-' '--title:-' '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'gc'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--older-than	Trash sessions idle for longer than AGE (e.g. 90d).' '--since	Only from WHEN on: an age (90m, 2h, 3d, 2w), today, yesterday, or an ISO date or datetime.' '--until	Only up to WHEN (read as --since reads it).' '--dry-run	Only show what would be trashed.' '--all	Include every project, not just the current one.' '-a	Include every project, not just the current one.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--older-than:-' '--since:-' '--until:-' '--project:project' '-p:project'
            set -g __chit_args
        case 'import'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--from	Import every session of another tool: claude-code, codex, chatgpt (give its export: the .zip, its folder or conversations.json), llm, gemini or opencode. Re-running updates what changed.' '--new-id	Always give the session a new id (snapshots only).' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--from:tool' '--project:project' '-p:project'
            set -g __chit_args 'file'
        case 'index'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--background	Run at a low priority, without progress; end at once if another catch-up runs (what a search starts).' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args
        case 'load'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--no-pager	Never page long output.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'ls'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--all	Include every project, not just the current one.' '-a	Include every project, not just the current one.' '--limit	Show at most N sessions (0: all; default: the config\'s limit, 50).' '-n	Show at most N sessions (0: all; default: the config\'s limit, 50).' '--tag	Only sessions with this tag (repeat it: sessions with every one).' '-t	Only sessions with this tag (repeat it: sessions with every one).' '--state	Only sessions in this state: idle, running or error.' '--since	Only from WHEN on: an age (90m, 2h, 3d, 2w), today, yesterday, or an ISO date or datetime.' '--until	Only up to WHEN (read as --since reads it).' '--sort	Order by updated, created, turns or tokens (most first).' '--quiet	Print full ids only, one per line.' '-q	Print full ids only, one per line.' '--agents	Also list sub-agents\' sessions (imported from Claude Code or opencode).' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--jsonl	Print one JSON object per line (JSON Lines), as each is found.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--limit:-' '-n:-' '--tag:tag' '-t:tag' '--state:state' '--since:-' '--until:-' '--sort:sort' '--project:project' '-p:project'
            set -g __chit_args
        case 'new'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--key	A unique key to find this session by.' '-k	A unique key to find this session by.' '--tag	Add this tag (repeatable).' '-t	Add this tag (repeatable).' '--meta	Metadata; a VALUE that is valid JSON keeps its type (repeatable).' '--system	Start with this system message.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--key:-' '-k:-' '--tag:tag' '-t:tag' '--meta:-' '--system:-' '--project:project' '-p:project'
            set -g __chit_args '-'
        case 'pick'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args
        case 'pop'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'projects'
            set -g __chit_subs 'mv' 'rename' 'rm'
            set -g __chit_cmds 'mv	Relink a project to a new directory, or merge it into another.' 'rename	Give a project a new name.' 'rm	Remove a project that holds no session.'
            set -g __chit_opts '--all	Also list projects that hold no session (live or trashed).' '-a	Also list projects that hold no session (live or trashed).' '--json	Print the result as one JSON document on stdout.' '--jsonl	Print one JSON object per line (JSON Lines), as each is found.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args
        case 'projects mv'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args 'project' 'dir'
        case 'projects rename'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args 'project' '-'
        case 'projects rm'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args 'project'
        case 'rename'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref' '-'
        case 'replace'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref' 'file'
        case 'restore'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args 'trash'
        case 'resume'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--print	Print the command instead of running it.' '--last	The most recently updated session of any project.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'rewind'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--invocation	Keep everything through this invocation id instead.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--invocation:-' '--project:project' '-p:project'
            set -g __chit_args 'ref' '-'
        case 'rm'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref...'
        case 'search'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--limit	Show at most N sessions (hits with --each, --json or --jsonl; 0: all).' '-n	Show at most N sessions (hits with --each, --json or --jsonl; 0: all).' '--role	Only messages with this role: system, user, assistant or tool.' '-r	Only messages with this role: system, user, assistant or tool.' '--tag	Only sessions with this tag (repeat it: sessions with every one).' '-t	Only sessions with this tag (repeat it: sessions with every one).' '--since	Only from WHEN on: an age (90m, 2h, 3d, 2w), today, yesterday, or an ISO date or datetime.' '--until	Only up to WHEN (read as --since reads it).' '--each	List every hit, not one line per session.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--jsonl	Print one JSON object per line (JSON Lines), as each is found.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--limit:-' '-n:-' '--role:role' '-r:role' '--tag:tag' '-t:tag' '--since:-' '--until:-' '--project:project' '-p:project'
            set -g __chit_args '-...'
        case 'show'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--no-pager	Never page long output.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'sources'
            set -g __chit_subs 'add' 'rm'
            set -g __chit_cmds 'add	Enable a tool (at PATH, or its default path) for `chit import`.' 'rm	Stop refreshing a tool (or one PATH of it); its sessions stay in chit.'
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args
        case 'sources add'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args 'tool' 'file'
        case 'sources rm'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args 'tool' 'file'
        case 'state'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--turn-id	With running: the turn\'s id (default: a new one).' '--error	With error: what went wrong.' '--set	Set a value in the session\'s state map.' '--unset	Remove a value from the state map.' '--running	List running sessions (all projects).' '--stuck	List sessions running for longer than AGE (e.g. 10m).' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--jsonl	Print one JSON object per line (JSON Lines), as each is found.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--turn-id:-' '--error:-' '--set:-' '--unset:-' '--stuck:-' '--project:project' '-p:project'
            set -g __chit_args 'ref' 'state'
        case 'stats'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--since	Only from WHEN on: an age (90m, 2h, 3d, 2w), today, yesterday, or an ISO date or datetime.' '--until	Only up to WHEN (read as --since reads it).' '--by	Group by project, model or day.' '--all	Include every project, not just the current one.' '-a	Include every project, not just the current one.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--since:-' '--until:-' '--by:grouping' '--project:project' '-p:project'
            set -g __chit_args
        case 'sync'
            set -g __chit_subs 'clone' 'init' 'status'
            set -g __chit_cmds 'clone	Start syncing this store from REMOTE, set up elsewhere by `sync init`.' 'init	Start syncing this store with REMOTE, a private git remote.' 'status	Where this store syncs to, and what changed since the last sync.'
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args
        case 'sync clone'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args '-'
        case 'sync init'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args '-'
        case 'sync status'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals
            set -g __chit_args
        case 'tag'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref' 'tag...'
        case 'trash'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--all	Include every project, not just the current one.' '-a	Include every project, not just the current one.' '--empty	Delete trashed sessions for good.' '--older-than	With --empty: only those trashed more than AGE ago (e.g. 30d).' '--yes	Do not ask before --empty.' '-y	Do not ask before --empty.' '--dry-run	With --empty: show what would go.' '--everywhere	With --empty: the next sync removes them from the sync remote and every other machine too.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--jsonl	Print one JSON object per line (JSON Lines), as each is found.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--older-than:-' '--project:project' '-p:project'
            set -g __chit_args
        case 'tree'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--all	Every fork tree of the project.' '-a	Every fork tree of the project.' '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'undo'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref'
        case 'untag'
            set -g __chit_subs
            set -g __chit_cmds
            set -g __chit_opts '--project	Work in the project NAME instead of the current directory\'s.' '-p	Work in the project NAME instead of the current directory\'s.' '--json	Print the result as one JSON document on stdout.' '--help	Show the help and exit.' '-h	Show the help and exit.'
            set -g __chit_vals '--project:project' '-p:project'
            set -g __chit_args 'ref' 'tag...'
    end
end

function __chit_static --description 'the fixed values of a kind'
    switch $argv[1]
        case format
            printf '%s\n' 'json' 'jsonl' 'md' 'html' 'txt'
        case role
            printf '%s\n' 'system' 'user' 'assistant' 'tool'
        case state
            printf '%s\n' 'idle' 'running' 'error'
        case shell
            printf '%s\n' 'bash' 'zsh' 'fish'
        case sort
            printf '%s\n' 'updated' 'created' 'turns' 'tokens'
        case grouping
            printf '%s\n' 'project' 'model' 'day'
        case tool
            printf '%s\n' 'claude-code' 'codex' 'chatgpt' 'llm' 'gemini' 'opencode'
    end
end

function __chit_kind --description 'kind of value an option takes'
    for pair in $__chit_vals
        if test (string split -m1 -- : $pair)[1] = $argv[1]
            string split -m1 -- : $pair | tail -n 1
            return
        end
    end
end

function __chit_values --description 'values of a kind' --argument-names kind cur project
    set -l extra
    test -n "$project"; and set extra --project $project
    switch "$kind"
        case ref trash
            $__chit_prog __complete $kind $extra -- $cur 2>/dev/null
        case tag project
            $__chit_prog __complete $kind $extra 2>/dev/null
        case file
            __fish_complete_path $cur
        case dir
            __fish_complete_directories $cur
        case '*'
            __chit_static $kind
    end
end

function __chit_complete --description 'complete a chit command line'
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -g __chit_prog $tokens[1]
    __chit_spec ''
    set -l cmdpath ''
    set -l skip ''
    set -l project ''
    set -l n 0
    for word in $tokens[2..-1]
        if test -n "$skip"
            test "$skip" = project; and set project $word
            set skip ''
            continue
        end
        switch $word
            case '--*=*'
                string match -q -- '--project=*' $word; and set project (string replace -- '--project=' '' $word)
            case '-*'
                set skip (__chit_kind $word)
            case '*'
                if test $n -eq 0; and contains -- $word $__chit_subs
                    set cmdpath (string trim -- "$cmdpath $word")
                    __chit_spec $cmdpath
                else
                    set n (math $n + 1)
                end
        end
    end
    set -l kind ''
    if test -n "$skip"
        set kind $skip
    else if string match -q -- '-*' $cur
        printf '%s\n' $__chit_opts
        return
    else if test $n -eq 0; and test (count $__chit_subs) -gt 0
        printf '%s\n' $__chit_cmds
        return
    else
        set -l count (count $__chit_args)
        if test $n -lt $count
            set kind $__chit_args[(math $n + 1)]
        else if test $count -gt 0; and string match -q -- '*...' $__chit_args[-1]
            set kind $__chit_args[-1]
        end
        set kind (string replace -- '...' '' "$kind")
    end
    __chit_values "$kind" $cur $project
end

complete -c chit -f -k -a '(__chit_complete)'
