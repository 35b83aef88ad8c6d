FROM python:3.11
MAINTAINER someone@example.com
RUN apt-get update
RUN apt-get install -y gcc libpq-dev
WORKDIR app
ADD . /app
RUN pip install -r requirements.txt
ENV FLASK_APP=app.py SECRET_KEY=changeme
EXPOSE 5000
CMD flask run --host=0.0.0.0
