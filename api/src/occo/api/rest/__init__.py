"""The REST service: the original's routes over FastAPI, with a maintenance daemon.

- `service`: `RestService`, what the routes share (settings, a store per
  thread, the maintainer, the shutdown token).
- `app`: `create_app(service)`, the FastAPI application and its error answers.
- `auth`: bearer tokens (`Tokens`), read or made on first start; `errors` and `limits`:
  the JSON error answers, the body-size limit and the 503 while stopping.
- `infrastructures`, `scaling`, `events`, `notify`, `page`: the routes.
- `daemon`: `Maintainer`, a pass of every attached infrastructure each interval, shared
  with the other service processes of one store (`daemon.membership`: which process
  maintains which); accepted destroys are kept in the store and carried out.
- `webhooks`: signed notifications of an infrastructure's events (`webhookkeys`: the key,
  secrets and signatures).
- `server`: running it under uvicorn until SIGTERM.
"""
