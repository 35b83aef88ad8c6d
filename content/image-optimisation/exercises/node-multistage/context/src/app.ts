import express, { NextFunction, Request, Response } from "express";
import { quotes } from "./quotes";

export function createApp() {
  const app = express();
  app.disable("x-powered-by");

  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok");
  });

  app.get("/api/quotes", (req, res) => {
    const tag = typeof req.query.tag === "string" ? req.query.tag : undefined;
    res.json(tag ? quotes.filter((q) => q.tags.includes(tag)) : quotes);
  });

  app.get("/api/quotes/random", (_req, res) => {
    res.json(quotes[Math.floor(Math.random() * quotes.length)]);
  });

  app.get("/api/quotes/:id", (req, res) => {
    const quote = quotes.find((q) => q.id === Number(req.params.id));
    if (!quote) {
      res.status(404).json({ error: `no quote ${req.params.id}` });
      return;
    }
    res.json(quote);
  });

  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    console.error(err);
    res.status(500).json({ error: "internal error" });
  });

  return app;
}
