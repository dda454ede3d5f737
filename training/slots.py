"""Slot fillers for training/written.py: the words the composed requests are made of."""

from __future__ import annotations

LANGUAGES = [
    "Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C", "C++", "C#", "Ruby", "PHP",
    "Kotlin", "Swift", "Scala", "Haskell", "Bash", "R", "Elixir", "Lua", "Dart", "Julia", "Perl",
]  # fmt: skip

CODE_TASKS = [
    "reverse a linked list", "parse a JSON file into a dictionary", "debounce a function",
    "merge two sorted arrays", "read environment variables with defaults",
    "retry an HTTP request with exponential backoff", "validate an email address with a regex",
    "implement a binary heap", "count word frequencies in a text file",
    "connect to a PostgreSQL database and run a query", "serve static files over HTTP",
    "paginate results from a REST API", "write a thread-safe counter", "flatten a nested list",
    "convert an ISO date string to a Unix timestamp", "implement quicksort",
    "memoize a recursive function", "stream a large file line by line",
    "mock an API call in a unit test", "detect a cycle in a directed graph",
    "implement a trie with insert and search", "deep copy an object",
    "remove duplicates from an array while keeping order", "upload a file to S3",
    "parse command-line arguments", "hash a password securely", "read a CSV and sum a column",
    "run two tasks concurrently and wait for both", "implement a rate limiter",
    "sort a list of records by two keys", "send an email with an attachment",
    "resize an image", "compute the Levenshtein distance between two strings",
    "implement breadth-first search on a grid", "handle a timeout on a network call",
    "write a generic stack type", "zip two lists into a map", "check if a string is a palindrome",
    "build a simple web scraper", "define an enum and switch over it",
    "log to a rotating file", "compare two version strings like 1.10.2 and 1.9.0",
    "spawn a subprocess and capture its output", "implement an LRU cache",
]  # fmt: skip

CODE_ERRORS = [
    ("Python", "TypeError: 'NoneType' object is not subscriptable"),
    ("C", "Segmentation fault (core dumped)"),
    ("Java", "java.lang.NullPointerException"),
    ("Rust", "cannot borrow `x` as mutable more than once at a time"),
    ("JavaScript", "TypeError: undefined is not a function"),
    ("Python", "ModuleNotFoundError: No module named 'requests'"),
    ("Git", "fatal: refusing to merge unrelated histories"),
    ("C++", "undefined reference to `main'"),
    ("JavaScript", "ReferenceError: x is not defined"),
    ("Python", "IndexError: list index out of range"),
    ("Go", "panic: runtime error: invalid memory address or nil pointer dereference"),
    ("Python", "ValueError: too many values to unpack (expected 2)"),
    ("TypeScript", "Property 'id' does not exist on type '{}'"),
    ("SQL", "ERROR 1064 (42000): You have an error in your SQL syntax"),
    ("Java", "java.lang.OutOfMemoryError: Java heap space"),
    ("Python", "RecursionError: maximum recursion depth exceeded"),
    ("React", 'Warning: Each child in a list should have a unique "key" prop'),
    ("Docker", "permission denied while trying to connect to the Docker daemon socket"),
    ("Rust", "expected `&str`, found `String`"),
    ("Kotlin", "lateinit property adapter has not been initialized"),
    ("C#", "System.InvalidOperationException: Sequence contains no elements"),
    ("Node", "Error: listen EADDRINUSE: address already in use :::3000"),
    ("pip", "error: externally-managed-environment"),
]

CODE_CONCEPTS = [
    ("a list", "a tuple"), ("let", "const"), ("== ", "==="), ("an interface", "an abstract class"),
    ("git merge", "git rebase"), ("a process", "a thread"), ("the stack", "the heap"),
    ("INNER JOIN", "LEFT JOIN"), ("async/await", "threads"), ("a struct", "a class"),
    ("pass by value", "pass by reference"), ("map", "flatMap"), ("a mutex", "a channel"),
    ("composition", "inheritance"), ("unit tests", "integration tests"), ("Vec", "slice"),
]  # fmt: skip

DEVOPS = [
    "How do I undo the last git commit but keep my changes?",
    "What does `chmod 755` do?",
    "Write a Dockerfile for a small Node.js app.",
    "How can I find which process is listening on port 8080?",
    "Set up a cron job that runs a script every 5 minutes.",
    "Write an nginx config that proxies /api to localhost:5000.",
    "How do I squash my last four commits in git?",
    "Write a GitHub Actions workflow that runs pytest on every push.",
    "What does `kubectl rollout restart deployment/web` do?",
    "How do I find all files over 100 MB with find?",
    "Write a bash loop that renames every .jpeg file to .jpg.",
    "Write a Makefile with build, test and clean targets for a C project.",
    "How do I create a Python virtual environment and install requirements?",
    "Explain what this regex matches: ^\\d{3}-\\d{4}$",
    "Write a regex that matches a US ZIP code with an optional +4 part.",
    "How do I make a git branch track a remote branch?",
]

SQL_ASKS = [
    "Write a SQL query that returns the top 5 customers by total order value.",
    "SQL: list employees who earn more than their manager.",
    "Write a query to count orders per month for 2023.",
    "How do I delete duplicate rows in Postgres but keep one of each?",
    "Write SQL to find products that were never ordered.",
    "Optimize this query: SELECT * FROM orders WHERE YEAR(created_at) = 2024;",
    "Create a table for blog posts with an auto-increment id, title, body and created_at.",
    "What index would speed up SELECT * FROM users WHERE email = ? ORDER BY created_at?",
]

CAPITALS = [  # none whose "What is the capital of X?" is a test prompt (Kenya, Canada, Egypt)
    ("France", "Paris"), ("Japan", "Tokyo"), ("Senegal", "Dakar"), ("Austria", "Vienna"),
    ("Peru", "Lima"), ("Norway", "Oslo"), ("Nepal", "Kathmandu"), ("Chile", "Santiago"),
    ("Vietnam", "Hanoi"), ("Poland", "Warsaw"), ("Ghana", "Accra"), ("Turkey", "Ankara"),
    ("Argentina", "Buenos Aires"), ("Thailand", "Bangkok"), ("Hungary", "Budapest"),
    ("Morocco", "Rabat"), ("New Zealand", "Wellington"), ("Portugal", "Lisbon"),
    ("South Korea", "Seoul"), ("Ireland", "Dublin"), ("Cuba", "Havana"), ("Finland", "Helsinki"),
]  # fmt: skip

ELEMENTS = [
    ("Nickel", "Ni"), ("Silver", "Ag"), ("Cobalt", "Co"), ("Sodium", "Na"), ("Potassium", "K"),
    ("Lead", "Pb"), ("Copper", "Cu"), ("Tin", "Sn"), ("Mercury", "Hg"), ("Oxygen", "O"),
    ("Helium", "He"), ("Carbon", "C"), ("Neon", "Ne"), ("Zinc", "Zn"), ("Calcium", "Ca"),
]  # fmt: skip

PLURALS = [
    ("goose", "geese"), ("leaf", "leaves"), ("city", "cities"), ("tooth", "teeth"),
    ("bus", "buses"), ("person", "people"), ("knife", "knives"), ("baby", "babies"),
    ("foot", "feet"), ("sheep", "sheep"), ("cactus", "cacti"), ("woman", "women"),
    ("story", "stories"), ("wolf", "wolves"), ("potato", "potatoes"), ("ox", "oxen"),
]  # fmt: skip

ANTONYMS = [
    ("happy", "sad"), ("light", "dark"), ("open", "closed"), ("early", "late"),
    ("strong", "weak"), ("rich", "poor"), ("empty", "full"), ("loud", "quiet"),
    ("smooth", "rough"), ("cheap", "expensive"), ("wide", "narrow"), ("inside", "outside"),
    ("ancient", "modern"), ("brave", "cowardly"), ("sharp", "dull"), ("wet", "dry"),
]  # fmt: skip

TRANSLATIONS = {
    "French": [("dog", "chien"), ("house", "maison"), ("water", "eau"), ("book", "livre"),
               ("red", "rouge"), ("tree", "arbre"), ("thank you", "merci"), ("night", "nuit")],
    "Spanish": [("dog", "perro"), ("house", "casa"), ("water", "agua"), ("book", "libro"),
                ("red", "rojo"), ("tree", "árbol"), ("thank you", "gracias"), ("night", "noche")],
    "German": [("dog", "Hund"), ("house", "Haus"), ("water", "Wasser"), ("book", "Buch"),
               ("red", "rot"), ("tree", "Baum"), ("thank you", "danke"), ("night", "Nacht")],
    "Italian": [("dog", "cane"), ("house", "casa"), ("water", "acqua"), ("book", "libro"),
                ("red", "rosso"), ("tree", "albero"), ("thank you", "grazie"), ("night", "notte")],
}  # fmt: skip

REVIEWS = [
    ("The battery lasts all week", "positive"), ("Arrived cracked and late", "negative"),
    ("Staff were rude to us", "negative"), ("Honestly the best pizza in town", "positive"),
    ("It stopped working after a day", "negative"), ("Comfortable and well made", "positive"),
    ("Way too expensive for what it is", "negative"), ("My kids love it", "positive"),
    ("The plot dragged on forever", "negative"), ("Great value, would buy again", "positive"),
    ("The room smelled of smoke", "negative"), ("Setup took two minutes", "positive"),
]  # fmt: skip

WORKS = [
    "Emma", "War and Peace", "The Odyssey", "Don Quixote", "Hamlet",
    "Moby-Dick", "The Divine Comedy", "Crime and Punishment", "Things Fall Apart",
    "The Tale of Genji", "Frankenstein", "The Great Gatsby", "Les Misérables", "Beloved",
]  # fmt: skip

MORAL_ACTIONS = [
    ("lie to a friend to spare their feelings", "lied to a friend to spare their feelings"),
    ("take credit for a coworker's idea", "took credit for a coworker's idea"),
    ("read my partner's messages without asking", "read my partner's messages without asking"),
    ("skip a friend's birthday party to rest", "skipped a friend's birthday party to rest"),
    ("not tip a waiter who was slow", "didn't tip a waiter who was slow"),
    ("cut in line when I'm in a hurry", "cut in line because I was in a hurry"),
    ("use a coupon I found on the floor", "used a coupon I found on the floor"),
    ("call in sick when I'm just tired", "called in sick when I was just tired"),
    ("tell my boss that a colleague is slacking", "told my boss that a colleague was slacking"),
    ("break a promise to help a stranger", "broke a promise to help a stranger"),
    ("eat the last slice without asking", "ate the last slice without asking"),
    ("share my streaming password with my cousin", "shared my streaming password with my cousin"),
    ("leave a bad review for a small business", "left a bad review for a small business"),
    ("not invite my stepbrother to my wedding", "didn't invite my stepbrother to my wedding"),
    ("keep a wallet I found with no ID in it", "kept a wallet I found with no ID in it"),
    ("tell a child that Santa is real", "told a child that Santa is real"),
    ("ignore a text from my ex", "ignored a text from my ex"),
    ("sell my old car without mentioning its leak", "sold my old car without mentioning its leak"),
    ("park in a disabled spot for one minute", "parked in a disabled spot for one minute"),
    ("let my friend copy my homework", "let my friend copy my homework"),
    ("refuse to lend money to my brother", "refused to lend money to my brother"),
    ("return clothes I already wore", "returned clothes I already wore"),
    ("laugh at a joke about my friend", "laughed at a joke about my friend"),
    ("break up with someone by text", "broke up with someone by text"),
]

MORAL_DEBATES = [
    "capital punishment", "eating meat", "keeping animals in zoos", "testing drugs on animals",
    "lying to protect someone", "civil disobedience", "taxing the rich more heavily",
    "genetic editing of embryos", "paying people for their organs", "breaking a bad law",
]  # fmt: skip

TOPICS = [
    "the Roman Empire", "black holes", "the stock market", "climate change", "sourdough baking",
    "the French Revolution", "machine learning", "volcanoes", "jazz", "the immune system",
    "renewable energy", "the Cold War", "coral reefs", "cryptocurrency", "meditation",
    "the history of chess", "electric cars", "sleep", "ancient Egypt", "photosynthesis",
    "urban gardening", "the Renaissance", "inflation", "quantum computing", "honeybees",
    "the Silk Road", "marathon training", "Impressionism", "plate tectonics", "budget travel",
]  # fmt: skip

HOWTO = [
    "How do I get a coffee stain out of a carpet?", "How can I fall asleep faster?",
    "What are some tips for a first job interview?", "How do I start running as a beginner?",
    "Any ideas for a cheap birthday party for a ten-year-old?", "How do I keep basil alive?",
    "What's a good way to learn a new language as an adult?", "How often should I water a cactus?",
    "Can you suggest a few board games for four people?", "How do I negotiate a higher salary?",
    "What should I pack for a week of hiking?", "How can I save money on groceries?",
    "Recommend some podcasts about history.", "How do I descale a kettle?",
    "What are good houseplants for a dark apartment?", "Plan a three-day trip to Rome for me.",
    "How do I stop procrastinating?", "What can I cook with eggs, spinach and rice?",
    "Give me ideas for a date night at home.", "How do I prepare for a long flight?",
    # advice asked with "should I" (moral questions are not the only ones)
    "When should I repot a fern?", "How much should I water a lemon tree in winter?",
    "Which tyres should I buy for snowy roads?", "What time should I leave for a 9 am flight?",
    "How long should I rest between sets at the gym?", "Should I use butter or oil for pancakes?",
]  # fmt: skip

CREATIVE_FORMS = [
    "poem", "haiku", "limerick", "short story", "song", "sonnet", "bedtime story", "fable",
    "toast", "speech", "love letter", "monologue", "rap verse", "diary entry", "fairy tale",
]  # fmt: skip

CREATIVE_SUBJECTS = [
    "a lighthouse keeper", "a lonely robot", "the first day of spring", "a lost umbrella",
    "my grandmother's kitchen", "a dragon who is afraid of fire", "the night sky",
    "a city after the rain", "two old friends meeting again", "a cat who runs a bakery",
    "the ocean", "moving to a new town", "a retiring teacher", "coffee", "a road trip",
]  # fmt: skip

ROLES = [
    "a pirate captain", "a medieval innkeeper", "Sherlock Holmes", "a friendly tour guide in Kyoto",
    "a strict personal trainer", "a wizard's apprentice", "a 1920s radio host", "an astronaut",
]  # fmt: skip

FOLLOW_UPS = [
    "Why is that?", "Can you say more about the second point?", "What happened next?",
    "Okay, and what do you recommend?", "Thanks! Can you make it shorter?", "Interesting. Why?",
    "Hmm, I don't agree. What about the other side?", "Could you give me an example?",
    "That makes sense. What should I read next?", "Wait, can you go back to the start?",
]  # fmt: skip

CHAT_ASIDES = [
    "Thanks, that was really helpful!", "Hi there! How is your day going?", "Tell me a joke.",
    "I'm bored. Talk to me about anything.", "Let's play twenty questions. You start.",
    "Can you cheer me up? Rough day.", "Nice talking to you, bye!", "What did you mean by that?",
]  # fmt: skip

WRITING_TASKS = [
    "Write a blog post about {topic}.", "Write a short story about {subject}.",
    "Describe {subject}.", "Write a product description for a new water bottle.",
    "Write an email to my team about the office move.", "Explain {topic} to a teenager.",
    "Write a poem about {subject}.", "List some facts about {topic}.",
    "Write a cover letter for a junior designer job.", "Summarize the history of {topic}.",
]  # fmt: skip

CONSTRAINTS = [
    "Use exactly {n} bullet points.", "Your entire response must be in lowercase letters.",
    "Do not use any commas.", "Wrap your whole answer in double quotation marks.",
    "End your response with 'P.S. {w}'.", "Include the keywords '{w}' and 'river'.",
    "Answer in fewer than {n}0 words.", "Format the answer as JSON.",
    "Use at least {n} sentences.", "Write it in all capital letters.",
    "Give it a title wrapped in double angular brackets, like <<title>>.",
    "Highlight at least {n} sections with markdown, i.e. *highlighted section*.",
    "Do not include the word '{w}'.", "Separate the paragraphs with ***.",
    "Your response should have {n} paragraphs.",
    "Finish with the exact phrase 'Is there anything else?'",
    "The letter q should appear at least {n} times.", "Start your answer with the word '{w}'.",
]  # fmt: skip

EVERYDAY = ["sunshine", "window", "bread", "garden", "music", "paper", "coffee", "train"]

COMMONSENSE = [
    ("a goldfish", "survive in a glass of orange juice"), ("a person", "swim across the Atlantic"),
    ("a snowman", "last a week in July in Madrid"), ("a giraffe", "fit in a phone booth"),
    ("a toddler", "lift a piano"), ("an ant colony", "eat a whole apple in a day"),
    ("a paper boat", "cross a lake"), ("a penguin", "live in the Amazon rainforest"),
    ("a candle", "burn on the Moon"), ("a horse", "outrun a cheetah over 100 meters"),
    ("a teenager", "read every book in a public library"), ("a banana", "ripen in the freezer"),
    ("a bicycle", "climb a staircase"), ("an owl", "see colors at night"),
]  # fmt: skip
