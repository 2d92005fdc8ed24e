"""The vocabulary every layer shares, with no framework in it: the model (posts, counts, statuses),
plain text, French and English wording, file paths, the outbound address policy and the secrets'
mask. Sources, the engine, the page and the widgets all build on it; it imports none of them."""
