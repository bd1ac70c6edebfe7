def agent(request):
    return {}
