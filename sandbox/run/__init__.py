"""Running a student's image: one command under lock, its effective user and its health check
(`locked`), and behaviour tests written for container-structure-test, schema 2.0.0: a spec is
validated whole before anything runs (`spec`, with Go's regexes, os.Expand and file modes in
`go`) and then run against the image (`structure`).
"""
