export interface Quote {
  id: number;
  text: string;
  author: string;
  tags: string[];
}

export const quotes: Quote[] = [
  { id: 1, text: "Simplicity is prerequisite for reliability.", author: "Edsger W. Dijkstra", tags: ["design"] },
  { id: 2, text: "Premature optimization is the root of all evil.", author: "Donald Knuth", tags: ["performance"] },
  { id: 3, text: "Make it work, make it right, make it fast.", author: "Kent Beck", tags: ["performance", "process"] },
  {
    id: 4,
    text: "Programs must be written for people to read, and only incidentally for machines to execute.",
    author: "Harold Abelson",
    tags: ["design"],
  },
  {
    id: 5,
    text: "The cheapest, fastest, and most reliable components are those that aren't there.",
    author: "Gordon Bell",
    tags: ["design", "performance"],
  },
  {
    id: 6,
    text: "Debugging is twice as hard as writing the code in the first place.",
    author: "Brian Kernighan",
    tags: ["debugging"],
  },
];
